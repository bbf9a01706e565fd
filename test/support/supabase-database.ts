// A database that starts the way a Supabase project does, before our migrations run: the API
// roles exist with Supabase's attributes, and the default privileges hand every new table,
// sequence and function in `public` to anon, authenticated and service_role. A migration that
// forgets to revoke (failure mode 20) is therefore open here, as it would be in production;
// the plain test template, where nobody is granted anything by default, could not show it.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../shared/db/migrate';
import { databaseUrl, dropTestDatabase, PG_ADMIN_URL } from './databases';

export interface SupabaseLikeDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const SUPABASE_BOOTSTRAP = `
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
end $$;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
`;

export async function createSupabaseLikeDatabase(): Promise<SupabaseLikeDatabase> {
  const name = `bg_t_sb_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(SUPABASE_BOOTSTRAP);
  } finally {
    await c.end();
  }
  await migrate(url);
  return { name, url, drop: () => dropTestDatabase(name) };
}
