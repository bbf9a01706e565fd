// Proves failure modes 10 and 11 at the constraints themselves, not through the functions' row
// lock: no unique constraint in `public` is DEFERRABLE (pg_constraint), so ON CONFLICT and
// concurrent inserts arbitrate on them; no function takes a session-level advisory lock; two
// transactions inserting one ledger key at once end with one row and a unique violation (or a
// quiet ON CONFLICT skip); and two code paths refunding one debit under different keys cannot
// both succeed — the second fails on one_refund_per_debit and
// its balance update is rolled back with it (failure mode 2).
import { Client } from 'pg';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';

const WAIT_LIMIT_MS = 5000;

describe('unique constraints on the ledger', () => {
  let ctx: TestContext;
  let a: Client;
  let b: Client;

  beforeAll(async () => {
    ctx = await createTestContext();
    a = new Client({ connectionString: ctx.databaseUrl });
    b = new Client({ connectionString: ctx.databaseUrl });
    await Promise.all([a.connect(), b.connect()]);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await Promise.all([a.end(), b.end()]);
    await ctx.close();
  });

  /** Resolves once `client`'s backend is waiting on a lock held by another transaction. */
  async function blockedOnLock(client: Client): Promise<void> {
    const pid = (client as unknown as { processID: number }).processID;
    await eventually(async () => (await ctx.pool.query("select 1 from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'", [pid])).rowCount === 1, {
      what: `backend ${pid} blocked on a lock`,
      timeoutMs: WAIT_LIMIT_MS,
      everyMs: 10,
    });
  }

  const insertZeroCall = (orgId: string, key: string, onConflict = '') =>
    `insert into ledger_entries (org_id, kind, amount, balance_before, balance_after, reference, idempotency_key)
     values ('${orgId}', 'call', 0, 0, 0, 'zero-second call', '${key}') ${onConflict} returning id`;

  it('declares no unique, primary-key or exclusion constraint DEFERRABLE', async () => {
    const res = await ctx.pool.query<{ name: string; deferrable: boolean }>(
      `select c.conrelid::regclass || '.' || c.conname as name, c.condeferrable as deferrable
         from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where n.nspname = 'public' and c.contype in ('u', 'p', 'x') order by 1`,
    );
    const names = res.rows.map((r) => r.name);
    expect(names).toContain('ledger_entries.ledger_entries_idempotency_key');
    expect(names).toContain('ledger_entries.ledger_entries_one_refund_per_debit');
    expect(res.rows.filter((r) => r.deferrable)).toEqual([]);
    const lateIndexes = await ctx.pool.query(
      `select i.indexrelid::regclass::text from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and i.indisunique and not i.indimmediate`,
    );
    expect(lateIndexes.rows).toEqual([]);
  });

  it('takes no session-level advisory lock inside a function (it would outlive or miss the transaction it guards)', async () => {
    const res = await ctx.pool.query<{ name: string }>(
      `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.prosrc ~* 'pg_(try_)?advisory_(lock|unlock)(_shared)?\\s*\\(' order by 1`,
    );
    expect(res.rows.map((r) => r.name)).toEqual([]);
  });

  it('lets one of two concurrent inserts of one ledger key win; the other gets a unique violation', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    await a.query('begin');
    await a.query(insertZeroCall(orgId, 'call:race-1'));
    await b.query('begin');
    const second = b.query(insertZeroCall(orgId, 'call:race-1')).then(
      () => 'inserted',
      (err: { code?: string }) => err.code,
    );
    await blockedOnLock(b);
    await a.query('commit');
    expect(await second).toBe('23505');
    await b.query('rollback');
    const n = await ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and idempotency_key = 'call:race-1'", [orgId]);
    expect(n.rows[0].n).toBe(1);
  });

  it('arbitrates ON CONFLICT on the ledger key between concurrent transactions', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    const skip = 'on conflict (org_id, idempotency_key) do nothing';
    await a.query('begin');
    const first = await a.query(insertZeroCall(orgId, 'call:race-2', skip));
    await b.query('begin');
    const second = b.query(insertZeroCall(orgId, 'call:race-2', skip));
    await blockedOnLock(b);
    await a.query('commit');
    expect(first.rowCount).toBe(1);
    expect((await second).rowCount).toBe(0);
    await b.query('commit');
  });

  it('refunds one debit once even when two code paths use different keys at the same time', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const debit = await ctx.services.wallet.debitForPurchase({ orgId, amount: 400, idempotencyKey: 'buy-1', reference: 'number' });
    if (debit.outcome !== 'debited') throw new Error('debit failed');
    const refund = (key: string) => `select ledger_post('${orgId}', 'phone_number_refund', 400, '${key}', 'refund', ${debit.entryId}, false) as r`;

    await a.query('begin');
    const first = await a.query<{ r: { outcome: string } }>(refund('path-a'));
    expect(first.rows[0]!.r.outcome).toBe('posted');
    await b.query('begin');
    const second = b.query(refund('path-b')).then(
      () => 'posted',
      (err: { code?: string; constraint?: string }) => `${err.code} ${err.constraint}`,
    );
    await blockedOnLock(b);
    await a.query('commit');
    expect(await second).toBe('23505 ledger_entries_one_refund_per_debit');
    await b.query('rollback');

    expect((await ctx.services.store.getWallet(orgId))?.balance).toBe(1000);
    const refunds = await ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'phone_number_refund'", [orgId]);
    expect(refunds.rows[0].n).toBe(1);
  });
});
