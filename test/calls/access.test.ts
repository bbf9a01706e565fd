// Proves the call tables and functions are closed to every database client but the service
// role (failure mode 20): catalog privileges for anon/authenticated/PUBLIC, and a real call as
// anon refused with 42501.
import { createTestContext, type TestContext } from '../support/context';

const PUBLIC_FUNCTIONS = [
  'phone_number_resolve',
  'call_gate_snapshot',
  'call_gate_admit',
  'call_gate_admit_batch',
  'call_gate_record_holds',
  'call_hold_release',
  'call_holds_total',
  'call_report_record',
  'call_settle',
  'call_settle_not_found',
  'calls_due_for_sweep',
  'call_reports_due_for_sweep',
  'call_sweep_defer',
];
const INTERNAL_FUNCTIONS = ['call_holds_sum', 'call_gate_plan_hold', 'call_gate_org_key'];

describe('access to the call gate tables and functions', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  it('lets only the service role execute the call functions, and nobody the internal ones', async () => {
    const rows = await ctx.pool.query<{ proname: string; anon: boolean; authenticated: boolean; public_: boolean; service: boolean }>(
      `select p.proname,
              has_function_privilege('anon', p.oid, 'execute') as anon,
              has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
              exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a where a.grantee = 0 and a.privilege_type = 'EXECUTE') as public_,
              has_function_privilege('service_role', p.oid, 'execute') as service
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.proname = any($1)`,
      [[...PUBLIC_FUNCTIONS, ...INTERNAL_FUNCTIONS]],
    );
    expect(rows.rows.map((r) => r.proname).sort()).toEqual([...PUBLIC_FUNCTIONS, ...INTERNAL_FUNCTIONS].sort());
    for (const r of rows.rows) {
      expect({ fn: r.proname, anon: r.anon, authenticated: r.authenticated, public: r.public_ }).toEqual({ fn: r.proname, anon: false, authenticated: false, public: false });
      expect({ fn: r.proname, service: r.service }).toEqual({ fn: r.proname, service: PUBLIC_FUNCTIONS.includes(r.proname) });
    }
  });

  it('keeps the calls and call_reports tables closed to anon and authenticated', async () => {
    for (const role of ['anon', 'authenticated']) {
      for (const table of ['calls', 'call_reports']) {
        const r = await ctx.pool.query<{ ok: boolean }>(`select has_table_privilege($1, $2, 'select,insert,update,delete') as ok`, [role, table]);
        expect({ role, table, ok: r.rows[0]?.ok }).toEqual({ role, table, ok: false });
      }
    }
  });

  it('refuses a call gate function called as anon', async () => {
    const client = await ctx.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local role anon');
      await expect(client.query("select call_hold_release('c', 'x')")).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
