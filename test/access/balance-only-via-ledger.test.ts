// Proves failure mode 2 by construction: the only SQL that changes wallets.balance or writes a
// ledger entry is inside ledger_post (scanning every function body in pg_proc, so a later
// migration that adds a second path fails here), ledger_post is callable by none of the API roles,
// and none of them can update a wallet row directly. Balance and entry therefore change together
// or not at all.
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

describe('a balance changes only with its ledger entry', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const functionsMatching = async (pattern: string) =>
    (
      await ctx.pool.query<{ name: string }>(
        `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = 'public' and p.prosrc ~* $1 order by 1`,
        [pattern],
      )
    ).rows.map((r) => r.name);

  it('has exactly one function that updates a balance: ledger_post (freeze and unfreeze update only the flag)', async () => {
    expect(await functionsMatching('update\\s+(only\\s+)?(public\\.)?"?wallets"?\\M')).toEqual(['ledger_post', 'wallet_freeze', 'wallet_unfreeze']);
    expect(await functionsMatching('update\\s+(only\\s+)?(public\\.)?"?wallets"?\\s+set\\s+[^;]*balance\\s*=')).toEqual(['ledger_post']);
  });

  it('has exactly one function that inserts ledger entries: ledger_post', async () => {
    expect(await functionsMatching('insert\\s+into\\s+(public\\.)?"?ledger_entries"?\\M')).toEqual(['ledger_post']);
  });

  it('creates wallets only at zero, in org_create', async () => {
    expect(await functionsMatching('insert\\s+into\\s+(public\\.)?"?wallets"?\\M')).toEqual(['org_create']);
    const orgId = await createFundedOrg(ctx.services, 0);
    expect((await ctx.services.store.getWallet(orgId))?.balance).toBe(0);
  });

  it.each(['anon', 'authenticated', 'service_role'])('refuses %s a direct balance update and a direct ledger_post', async (role) => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const attempt = async (sql: string) => {
      const c = await ctx.pool.connect();
      try {
        await c.query('begin');
        await c.query(`set local role ${role}`);
        await c.query(sql);
        return 'succeeded';
      } catch (err) {
        return (err as { code: string }).code;
      } finally {
        await c.query('rollback');
        c.release();
      }
    };
    expect(await attempt(`update public.wallets set balance = 1000000 where org_id = '${orgId}'`)).toBe('42501');
    expect(await attempt(`select public.ledger_post('${orgId}', 'topup', 1000000, 'mint', 'mint', null, false)`)).toBe('42501');
    expect((await ctx.services.store.getWallet(orgId))?.balance).toBe(100);
  });
});
