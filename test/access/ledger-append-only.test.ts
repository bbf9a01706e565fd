// Proves the ledger is append-only even for the table's owner (a superuser here): UPDATE, DELETE
// and TRUNCATE of ledger_entries are refused by triggers, so history cannot be rewritten to hide
// a movement, whoever holds the connection. Entries are written by the real money functions.
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

describe('ledger_entries is append-only', () => {
  let ctx: TestContext;
  let orgId: string;
  beforeAll(async () => {
    ctx = await createTestContext();
    orgId = await createFundedOrg(ctx.services, 500);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const owner = async () => (await ctx.pool.query<{ owner: string; me: string }>("select tableowner as owner, current_user as me from pg_tables where tablename = 'ledger_entries'")).rows[0]!;

  it('runs these checks as the owner of the table', async () => {
    const o = await owner();
    expect(o.me).toBe(o.owner);
  });

  it.each([
    ['UPDATE', `update ledger_entries set amount = 1000000, balance_after = balance_before + 1000000`],
    ['DELETE', `delete from ledger_entries`],
    ['TRUNCATE', `truncate ledger_entries cascade`],
  ])('refuses %s with insufficient_privilege and keeps every entry', async (_op, sql) => {
    const before = await ctx.pool.query('select id, amount, balance_after from ledger_entries order by id');
    expect(before.rowCount).toBeGreaterThan(0);
    await expect(ctx.pool.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('append-only') });
    const after = await ctx.pool.query('select id, amount, balance_after from ledger_entries order by id');
    expect(after.rows).toEqual(before.rows);
    expect((await ctx.services.store.getWallet(orgId))?.balance).toBe(500);
  });
});
