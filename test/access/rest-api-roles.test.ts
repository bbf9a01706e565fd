// Proves failure mode 20 through the Data API, as an attacker holding the public anon key (or a
// signed-in dashboard user's token) would try it: every function in `public` (enumerated from
// pg_proc, trigger functions excluded), called through the PostgREST stand-in with all its named
// arguments, is refused with 42501 (401 for anon, 403 for an authenticated user), and no balance
// or ledger entry changes. The service key reaches the public API functions.
import { Client } from 'pg';
import { TEST_JWT_SECRET } from '../support/context';
import { dashboardToken } from '../support/jwt';
import { startPostgrestServer, type PostgrestServer } from '../support/postgrest-server';
import { createSupabaseLikeDatabase, type SupabaseLikeDatabase } from '../support/supabase-database';

const PUBLIC_API = ['wallet_credit', 'wallet_debit_for_purchase', 'wallet_refund', 'wallet_charge_call', 'org_create', 'wallet_get', 'ledger_list', 'phone_number_register', 'org_limits_get', 'org_limits_set', 'wallet_freeze', 'wallet_unfreeze', 'calls_live_for_org'];

describe('the Data API with the anon key or a user token', () => {
  let db: SupabaseLikeDatabase;
  let client: Client;
  let server: PostgrestServer;
  let functions: Array<{ name: string; args: string[] }>;
  let orgId: string;

  beforeAll(async () => {
    db = await createSupabaseLikeDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
    server = await startPostgrestServer({ databaseUrl: db.url, jwtSecret: TEST_JWT_SECRET });
    const res = await client.query<{ name: string; args: string[] | null }>(
      `select p.proname as name, p.proargnames as args
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
        order by 1`,
    );
    functions = res.rows.map((r) => ({ name: r.name, args: r.args ?? [] }));
    orgId = (await client.query<{ r: { org_id: string } }>("select org_create('Victim', null, 'gbp') as r")).rows[0]!.r.org_id;
    await client.query("select wallet_credit($1, 500, 'seed', repeat('f', 64), 'seed')", [orgId]);
  });
  afterAll(async () => {
    await server.close();
    await client.end();
    await db.drop();
  });

  /** Plausible arguments, so that only the privilege check can stop the call. */
  function argsFor(names: string[]): Record<string, unknown> {
    const sample: Record<string, unknown> = { p_org_id: orgId, p_amount: 1_000_000, p_idempotency_key: 'attack', p_fingerprint: 'f'.repeat(64), p_reason: 'attack', p_reference: 'attack', p_entry_id: 1, p_call_id: 'attack', p_name: 'attack', p_currency: 'gbp', p_kind: 'topup', p_require_funds: false, p_limit: 10 };
    return Object.fromEntries(names.map((n) => [n, n in sample ? sample[n] : null]));
  }
  const call = (fn: string, body: unknown, key: string, bearer: string) =>
    fetch(`${server.url}/rest/v1/rpc/${fn}`, { method: 'POST', headers: { 'Content-Type': 'application/json', apikey: key, Authorization: `Bearer ${bearer}` }, body: JSON.stringify(body) });
  const ledgerState = async () => (await client.query("select (select count(*) from ledger_entries)::int as entries, (select sum(balance) from wallets)::bigint as total")).rows[0];

  it('refuses every function to the anon key with 401 and 42501', async () => {
    const before = await ledgerState();
    const answered: string[] = [];
    for (const f of functions) {
      const res = await call(f.name, argsFor(f.args), server.keys.anon, server.keys.anon);
      const body = (await res.json()) as { code?: string };
      if (res.status !== 401 || body.code !== '42501') answered.push(`${f.name}: ${res.status} ${JSON.stringify(body)}`);
    }
    expect(answered).toEqual([]);
    expect(await ledgerState()).toEqual(before);
  });

  it('refuses every function to a signed-in dashboard user with 403 and 42501', async () => {
    const user = await dashboardToken(TEST_JWT_SECRET, orgId);
    const before = await ledgerState();
    const answered: string[] = [];
    for (const f of functions) {
      const res = await call(f.name, argsFor(f.args), server.keys.anon, user);
      const body = (await res.json()) as { code?: string };
      if (res.status !== 403 || body.code !== '42501') answered.push(`${f.name}: ${res.status} ${JSON.stringify(body)}`);
    }
    expect(answered).toEqual([]);
    expect(await ledgerState()).toEqual(before);
  });

  it('lets the service key call the public API functions', async () => {
    const res = await call('wallet_get', { p_org_id: orgId }, server.keys.serviceRole, server.keys.serviceRole);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outcome: 'found', balance: 500 });
    for (const name of PUBLIC_API) {
      const f = functions.find((x) => x.name === name)!;
      const r = await call(name, Object.fromEntries(f.args.map((a) => [a, null])), server.keys.serviceRole, server.keys.serviceRole);
      const body = (await r.json()) as { code?: string } | null;
      expect([name, body?.code]).not.toEqual([name, '42501']);
    }
  });
});
