// Proves failure mode 20 at the database: connected as postgres and switching role the way
// PostgREST does (SET ROLE anon / authenticated), every function in `public` (enumerated from
// pg_proc, so functions added by later migrations are covered without editing this file; trigger
// functions excluded) is refused with permission denied, and every table and sequence is neither
// readable nor writable. service_role may run the public API functions but not the internal
// helpers. The database starts like a Supabase project (default privileges grant everything to
// the API roles), so a migration that forgets its revokes fails here.
import { Client } from 'pg';
import { createSupabaseLikeDatabase, type SupabaseLikeDatabase } from '../support/supabase-database';

/** Functions the service calls through the Data API; granted to service_role only. */
const PUBLIC_API = ['wallet_credit', 'wallet_debit_for_purchase', 'wallet_refund', 'wallet_charge_call', 'org_create', 'wallet_get', 'ledger_list', 'phone_number_register', 'org_limits_get', 'org_limits_set', 'wallet_freeze', 'wallet_unfreeze', 'calls_live_for_org'];
/** Helpers the public functions call as their owner; granted to nobody. */
const INTERNAL = ['ledger_post', 'ledger_result', 'idempotency_lookup', 'idempotency_record', 'lock_wallet', 'wallet_controls_json', 'wallet_spent_on', 'calls_live_count', 'wallet_purchase_refusal', 'org_limits_json', 'call_settle_core', 'provision_request_refund_core'];

interface Fn {
  name: string;
  signature: string;
  /** `select public.f(null::uuid, ...)`: privileges are checked before any argument is looked at. */
  call: string;
}
interface Relation {
  name: string;
  kind: string;
  firstColumn: string | null;
}

const FAILED = Symbol('no error');

async function errorCode(client: Client, role: string, sql: string): Promise<string | typeof FAILED> {
  await client.query('begin');
  try {
    await client.query(`set local role ${role}`);
    await client.query(sql);
    return FAILED;
  } catch (err) {
    return (err as { code: string }).code;
  } finally {
    await client.query('rollback');
  }
}

describe('database roles', () => {
  let db: SupabaseLikeDatabase;
  let client: Client;
  let functions: Fn[];
  let relations: Relation[];

  beforeAll(async () => {
    db = await createSupabaseLikeDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
    const fns = await client.query<{ name: string; signature: string; types: string[] }>(
      `select p.proname as name, p.oid::regprocedure::text as signature,
              array(select format_type(t, null) from unnest(p.proargtypes::oid[]) t) as types
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
        order by 1`,
    );
    functions = fns.rows.map((r) => ({
      name: r.name,
      signature: r.signature,
      call: `select public."${r.name}"(${r.types.map((t) => `null::${t}`).join(', ')})`,
    }));
    const rels = await client.query<Relation>(
      `select c.relname as name, c.relkind as kind,
              (select a.attname from pg_attribute a
                where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attidentity = '' and a.attgenerated = ''
                order by a.attnum limit 1) as "firstColumn"
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') order by 1`,
    );
    relations = rels.rows;
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('finds every money function and table to check', () => {
    const names = functions.map((f) => f.name);
    for (const f of [...PUBLIC_API, ...INTERNAL]) expect(names).toContain(f);
    for (const t of ['organizations', 'wallets', 'ledger_entries', 'idempotency_keys', 'phone_numbers', 'schema_migrations']) {
      expect(relations.map((r) => r.name)).toContain(t);
    }
  });

  it.each(['anon', 'authenticated'])('refuses every public function to %s with permission denied', async (role) => {
    const allowed: string[] = [];
    for (const f of functions) {
      const code = await errorCode(client, role, f.call);
      if (code !== '42501') allowed.push(`${f.signature} (${code === FAILED ? 'ran' : code})`);
    }
    expect(allowed).toEqual([]);
  });

  it.each(['anon', 'authenticated'])('keeps every table and sequence closed to %s', async (role) => {
    const open: string[] = [];
    for (const r of relations) {
      const q = `"${r.name}"`;
      const attempts =
        r.kind === 'S'
          ? [`select nextval('public.${q}')`, `select * from public.${q}`]
          : [
              `select * from public.${q} limit 1`,
              `insert into public.${q} default values`,
              `update public.${q} set "${r.firstColumn}" = "${r.firstColumn}"`,
              `delete from public.${q}`,
              `truncate public.${q}`,
            ];
      for (const sql of attempts) {
        const code = await errorCode(client, role, sql);
        if (code !== '42501') open.push(`${sql} → ${code === FAILED ? 'succeeded' : code}`);
      }
    }
    expect(open).toEqual([]);
  });

  it('lets service_role run the public API functions', async () => {
    for (const name of PUBLIC_API) {
      const f = functions.find((x) => x.name === name)!;
      // Null arguments make some functions raise their own validation error; only 42501 matters.
      expect([name, await errorCode(client, 'service_role', f.call)]).not.toEqual([name, '42501']);
    }
  });

  it('refuses the internal helpers even to service_role', async () => {
    const allowed: string[] = [];
    for (const name of INTERNAL) {
      const f = functions.find((x) => x.name === name)!;
      if ((await errorCode(client, 'service_role', f.call)) !== '42501') allowed.push(name);
    }
    expect(allowed).toEqual([]);
  });

  it('keeps every table closed to service_role too: money moves only through the functions', async () => {
    const open: string[] = [];
    for (const r of relations.filter((x) => x.kind !== 'S')) {
      for (const sql of [`select * from public."${r.name}" limit 1`, `update public."${r.name}" set "${r.firstColumn}" = "${r.firstColumn}"`]) {
        const code = await errorCode(client, 'service_role', sql);
        if (code !== '42501') open.push(`${sql} → ${code === FAILED ? 'succeeded' : code}`);
      }
    }
    expect(open).toEqual([]);
  });

  it('has row-level security enabled on every table', async () => {
    const res = await client.query<{ relname: string }>(
      `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity order by 1`,
    );
    expect(res.rows.map((r) => r.relname)).toEqual([]);
  });

  it('starts every table, sequence and function created by a later migration closed to the API roles', async () => {
    await client.query('begin');
    try {
      await client.query('create table public.later_table (id bigint generated always as identity, v int)');
      await client.query('create function public.later_function() returns int language sql as $$ select 1 $$');
      const res = await client.query<{ role: string; t: boolean; s: boolean; f: boolean }>(
        `select r as role,
                has_table_privilege(r, 'public.later_table', 'select, insert, update, delete, truncate') as t,
                has_sequence_privilege(r, pg_get_serial_sequence('public.later_table', 'id'), 'usage, select, update') as s,
                has_function_privilege(r, 'public.later_function()', 'execute') as f
           from unnest(array['anon', 'authenticated', 'service_role']) r`,
      );
      expect(res.rows).toEqual([
        { role: 'anon', t: false, s: false, f: false },
        { role: 'authenticated', t: false, s: false, f: false },
        { role: 'service_role', t: false, s: false, f: false },
      ]);
    } finally {
      await client.query('rollback');
    }
  });
});
