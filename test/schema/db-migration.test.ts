// `npm run db:migration -- <name>` writes the migration for what changed in supabase/schemas/:
// functions by create or replace (or drop), with their grants; a table change is refused, named.
// Each case works on a copy of supabase/ and proves the written file takes the migrations to the
// schema (a database built from the migrations, the new one included, equals one built from it).
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFromMigrations, buildFromSchemas, catalogOf } from '../../tools/schema/build-database';
import { diffCatalogs } from '../../tools/schema/catalog';
import { SUPABASE_DIR } from '../../tools/schema/schema-files';
import { nextMigrationFile, writeMigration } from '../../tools/schema/write-migration';
import { databaseUrl, dropTestDatabase, PG_ADMIN_URL } from '../support/databases';

describe('npm run db:migration', () => {
  const created: string[] = [];
  const tmp: string[] = [];
  afterAll(async () => {
    for (const name of created) await dropTestDatabase(name);
    for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
  });
  const fresh = () => {
    const name = `bg_w_${Math.random().toString(16).slice(2, 12)}`;
    created.push(name);
    return databaseUrl(name);
  };
  function copyOfSupabase(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'bg-supabase-'));
    tmp.push(dir);
    cpSync(SUPABASE_DIR, dir, { recursive: true });
    return dir;
  }
  async function migrationsMatchSchemas(dir: string): Promise<string[]> {
    const m = fresh();
    const s = fresh();
    await buildFromMigrations(m, dir);
    await buildFromSchemas(s, dir);
    return diffCatalogs(await catalogOf(m), await catalogOf(s)).map((d) => d.key);
  }

  it('writes nothing when the schema and the migrations agree', async () => {
    const dir = copyOfSupabase();
    const before = readdirSync(path.join(dir, 'migrations'));
    expect(await writeMigration(PG_ADMIN_URL, 'nothing', dir)).toBeNull();
    expect(readdirSync(path.join(dir, 'migrations'))).toEqual(before);
  });

  it('replaces a changed function and creates a new one with its grant; the result equals the schema', async () => {
    const dir = copyOfSupabase();
    const walletGet = path.join(dir, 'schemas/ledger/functions/wallet_get.sql');
    writeFileSync(walletGet, readFileSync(walletGet, 'utf8').replace("'outcome', 'found',", "'outcome', 'found', 'source', 'postgres',"));
    writeFileSync(
      path.join(dir, 'schemas/ledger/functions/wallet_exists.sql'),
      `-- wallet_exists(uuid): whether the organisation has a wallet.\ncreate or replace function wallet_exists(p_org_id uuid) returns boolean\n  language sql stable security definer set search_path = public, pg_temp\nas $$ select exists (select 1 from wallets where org_id = p_org_id) $$;\n`,
    );
    const grants = path.join(dir, 'schemas/access/grants.sql');
    writeFileSync(grants, `${readFileSync(grants, 'utf8')}\nrevoke all on function wallet_exists(uuid) from public, anon, authenticated, service_role;\ngrant execute on function wallet_exists(uuid) to service_role;\n`);

    const file = await writeMigration(PG_ADMIN_URL, 'wallet_source', dir);
    expect(file).not.toBeNull();
    const sql = readFileSync(file!, 'utf8');
    expect(sql).toMatch(/CREATE OR REPLACE FUNCTION public\.wallet_get\(p_org_id uuid\)/);
    expect(sql).toMatch(/create or replace function wallet_exists\(p_org_id uuid\)/);
    expect(sql).toMatch(/grant execute on function wallet_exists\(p_org_id uuid\) to service_role;|grant execute on function wallet_exists\(uuid\) to service_role;/);
    expect(sql).not.toMatch(/create table|alter table/i);
    expect(await migrationsMatchSchemas(dir)).toEqual([]);
  });

  it('drops a function whose file was removed', async () => {
    const dir = copyOfSupabase();
    rmSync(path.join(dir, 'schemas/calls/functions/calls_live_count.sql'));
    const grants = path.join(dir, 'schemas/access/grants.sql');
    writeFileSync(grants, readFileSync(grants, 'utf8').replace(/^\s+calls_live_count\([^)]*\),\n/gm, ''));
    const file = await writeMigration(PG_ADMIN_URL, 'drop_live_count', dir);
    expect(readFileSync(file!, 'utf8')).toMatch(/^drop function calls_live_count\(/m);
    expect(await migrationsMatchSchemas(dir)).toEqual([]);
  });

  it('refuses a table change, naming it, and writes nothing', async () => {
    const dir = copyOfSupabase();
    const wallets = path.join(dir, 'schemas/ledger/tables/wallets.sql');
    writeFileSync(wallets, readFileSync(wallets, 'utf8').replace('    frozen_source text,\n', '    frozen_source text,\n    nickname text,\n'));
    const before = readdirSync(path.join(dir, 'migrations'));
    await expect(writeMigration(PG_ADMIN_URL, 'nickname', dir)).rejects.toThrow(/written by hand[\s\S]*column wallets\.nickname: only in schemas/);
    expect(readdirSync(path.join(dir, 'migrations'))).toEqual(before);
  });

  it('names the migration after the last one, in UTC time', () => {
    const dir = copyOfSupabase();
    const last = readdirSync(path.join(dir, 'migrations')).sort().pop()!.slice(0, 14);
    expect(path.basename(nextMigrationFile(path.join(dir, 'migrations'), 'x', new Date('2020-01-01T00:00:00Z')))).toBe(`${BigInt(last) + 100n}_x.sql`);
    expect(path.basename(nextMigrationFile(path.join(dir, 'migrations'), 'x', new Date('2099-01-02T03:04:05Z')))).toBe('20990102030405_x.sql');
    expect(() => nextMigrationFile(path.join(dir, 'migrations'), 'Bad Name')).toThrow(/a-z, 0-9/);
  });
});
