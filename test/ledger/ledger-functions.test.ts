// Proves the money SQL functions through the data adapters against a real Postgres: the
// conditional debit under concurrency (failure mode 1), one entry per key (7, 9, 11), one refund
// per debit (10), calls recorded into debt (4), bad amounts refused by the database itself (3),
// and the ledger invariants after every test (2).
import { ledgerAdapters } from '../support/adapters';
import { createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import type { LedgerStore } from '../../shared/ledger/ledger-store';

const FP = 'a'.repeat(64);
const FP2 = 'b'.repeat(64);

describe.each(ledgerAdapters)('ledger functions via $name', (adapter) => {
  let ctx: TestContext;
  let store: LedgerStore;
  let closeAdapter: () => Promise<void>;

  beforeAll(async () => {
    ctx = await createTestContext();
    ({ store, close: closeAdapter } = await adapter.open(ctx));
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await closeAdapter();
    await ctx.close();
  });

  async function org(balance: number): Promise<string> {
    const o = await store.createOrg({ name: 'Org', currency: 'gbp' });
    expect(o.outcome).toBe('created');
    if (balance > 0) {
      const c = await store.credit({ orgId: o.org_id, amount: balance, idempotencyKey: `seed-${o.org_id}`, fingerprint: FP, reason: 'seed' });
      expect(c.outcome).toBe('credited');
    }
    return o.org_id;
  }

  const count = async (orgId: string, kind: string) =>
    Number((await ctx.pool.query('select count(*) from ledger_entries where org_id = $1 and kind = $2', [orgId, kind])).rows[0].count);

  it('lets exactly 100 of 200 concurrent debits of 10 through on a balance of 1000', async () => {
    const orgId = await org(1000);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.debitForPurchase({ orgId, amount: 10, idempotencyKey: `buy-${i}`, reference: `r${i}` })),
    );
    expect(results.filter((r) => r.outcome === 'debited')).toHaveLength(100);
    expect(results.filter((r) => r.outcome === 'insufficient_funds')).toHaveLength(100);
    expect((await store.getWallet(orgId))?.balance).toBe(0);
    expect(await count(orgId, 'phone_number')).toBe(100);
  });

  it('refuses a debit larger than the balance with the shortfall, and records nothing', async () => {
    const orgId = await org(300);
    const r = await store.debitForPurchase({ orgId, amount: 1000, idempotencyKey: 'big', reference: 'x' });
    expect(r).toMatchObject({ outcome: 'insufficient_funds', balance: 300, required: 1000, shortfall: 700, currency: 'gbp' });
    expect(await count(orgId, 'phone_number')).toBe(0);
    expect((await store.getWallet(orgId))?.balance).toBe(300);
  });

  it('returns the original outcome for a replayed credit key, sequentially and concurrently', async () => {
    const orgId = await org(0);
    const first = await store.credit({ orgId, amount: 500, idempotencyKey: 'k1', fingerprint: FP, reason: 'top-up' });
    const again = await store.credit({ orgId, amount: 500, idempotencyKey: 'k1', fingerprint: FP, reason: 'top-up' });
    expect(first).toMatchObject({ outcome: 'credited', replayed: false, balanceAfter: 500 });
    expect(again).toMatchObject({ outcome: 'credited', replayed: true, entryId: first.outcome === 'credited' ? first.entryId : -1, balanceAfter: 500 });

    const concurrent = await Promise.all(
      Array.from({ length: 20 }, () => store.credit({ orgId, amount: 70, idempotencyKey: 'k2', fingerprint: FP, reason: 'top-up' })),
    );
    const ids = new Set(concurrent.map((r) => (r.outcome === 'credited' ? r.entryId : -1)));
    expect(ids.size).toBe(1);
    expect(concurrent.filter((r) => r.outcome === 'credited' && !r.replayed)).toHaveLength(1);
    expect(await count(orgId, 'topup')).toBe(2);
    expect((await store.getWallet(orgId))?.balance).toBe(570);
  });

  it('refuses the same key with a different request fingerprint and changes nothing', async () => {
    const orgId = await org(0);
    await store.credit({ orgId, amount: 100, idempotencyKey: 'k', fingerprint: FP, reason: 'a' });
    const other = await store.credit({ orgId, amount: 999, idempotencyKey: 'k', fingerprint: FP2, reason: 'b' });
    expect(other.outcome).toBe('idempotency_key_reused');
    expect((await store.getWallet(orgId))?.balance).toBe(100);
  });

  it('debits one purchase key once however often it is replayed', async () => {
    const orgId = await org(100);
    const rs = await Promise.all(Array.from({ length: 10 }, () => store.debitForPurchase({ orgId, amount: 30, idempotencyKey: 'p1', reference: 'x' })));
    expect(rs.every((r) => r.outcome === 'debited')).toBe(true);
    expect(rs.filter((r) => r.outcome === 'debited' && !r.replayed)).toHaveLength(1);
    expect((await store.getWallet(orgId))?.balance).toBe(70);
  });

  it('refunds a debit exactly once, sequentially and concurrently', async () => {
    const orgId = await org(100);
    const d1 = await store.debitForPurchase({ orgId, amount: 40, idempotencyKey: 'd1', reference: 'x' });
    const d2 = await store.debitForPurchase({ orgId, amount: 40, idempotencyKey: 'd2', reference: 'x' });
    if (d1.outcome !== 'debited' || d2.outcome !== 'debited') throw new Error('debits failed');

    const s1 = await store.refund({ orgId, entryId: d1.entryId, reason: 'failed' });
    const s2 = await store.refund({ orgId, entryId: d1.entryId, reason: 'failed again' });
    expect(s1).toMatchObject({ outcome: 'refunded', replayed: false, amount: 40 });
    expect(s2).toMatchObject({ outcome: 'refunded', replayed: true });

    const conc = await Promise.all(Array.from({ length: 15 }, () => store.refund({ orgId, entryId: d2.entryId, reason: 'race' })));
    expect(conc.filter((r) => r.outcome === 'refunded' && !r.replayed)).toHaveLength(1);
    expect(await count(orgId, 'phone_number_refund')).toBe(2);
    expect((await store.getWallet(orgId))?.balance).toBe(100);
  });

  it('will not refund a top-up, another organisation’s entry, or an unknown entry', async () => {
    const a = await org(100);
    const b = await org(100);
    const d = await store.debitForPurchase({ orgId: a, amount: 10, idempotencyKey: 'x', reference: 'x' });
    if (d.outcome !== 'debited') throw new Error('debit failed');
    const topup = (await ctx.pool.query("select id from ledger_entries where org_id = $1 and kind = 'topup'", [a])).rows[0].id;
    expect((await store.refund({ orgId: a, entryId: topup, reason: 'x' })).outcome).toBe('not_refundable');
    expect((await store.refund({ orgId: b, entryId: d.entryId, reason: 'x' })).outcome).toBe('not_found');
    expect((await store.refund({ orgId: a, entryId: 999_999_999, reason: 'x' })).outcome).toBe('not_found');
  });

  it('records a call charge even when it takes the balance below zero and beyond the debt limit', async () => {
    const orgId = await org(50);
    const r = await store.chargeCall({ orgId, callId: 'call-1', amount: 200, reference: 'call' });
    expect(r).toMatchObject({ outcome: 'charged', balanceAfter: -150, beyondDebtLimit: true, replayed: false });
    expect((await store.getWallet(orgId))?.balance).toBe(-150);
  });

  it('charges a call id once when ten charges race', async () => {
    const orgId = await org(1000);
    const rs = await Promise.all(Array.from({ length: 10 }, () => store.chargeCall({ orgId, callId: 'call-9', amount: 57, reference: 'call' })));
    expect(rs.filter((r) => r.outcome === 'charged' && !r.replayed)).toHaveLength(1);
    expect(await count(orgId, 'call')).toBe(1);
    expect((await store.getWallet(orgId))?.balance).toBe(943);
  });

  it('refuses negative, zero and absurd amounts in the functions themselves', async () => {
    const orgId = await org(100);
    await expect(store.credit({ orgId, amount: -5, idempotencyKey: 'n1', fingerprint: FP, reason: 'x' })).rejects.toThrow(/out of range/);
    await expect(store.credit({ orgId, amount: 0, idempotencyKey: 'n2', fingerprint: FP, reason: 'x' })).rejects.toThrow(/out of range/);
    await expect(store.credit({ orgId, amount: 100_000_001, idempotencyKey: 'n3', fingerprint: FP, reason: 'x' })).rejects.toThrow(/out of range/);
    await expect(store.debitForPurchase({ orgId, amount: -10, idempotencyKey: 'n4', reference: 'x' })).rejects.toThrow(/positive/);
    await expect(store.chargeCall({ orgId, callId: 'c', amount: -1, reference: 'x' })).rejects.toThrow(/>= 0/);
    await expect(store.credit({ orgId, amount: 1.5, idempotencyKey: 'n5', fingerprint: FP, reason: 'x' })).rejects.toThrow();
    expect((await store.getWallet(orgId))?.balance).toBe(100);
  });

  it('reports an unknown organisation as not_found', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    expect((await store.credit({ orgId: ghost, amount: 1, idempotencyKey: 'g', fingerprint: FP, reason: 'x' })).outcome).toBe('not_found');
    expect((await store.debitForPurchase({ orgId: ghost, amount: 1, idempotencyKey: 'g', reference: 'x' })).outcome).toBe('not_found');
    expect(await store.getWallet(ghost)).toBeUndefined();
  });

  it('lists entries newest first with keyset pages', async () => {
    const orgId = await org(100);
    for (let i = 0; i < 5; i++) await store.debitForPurchase({ orgId, amount: 1, idempotencyKey: `l${i}`, reference: `r${i}` });
    const page1 = await store.listEntries({ orgId, limit: 4 });
    const page2 = await store.listEntries({ orgId, limit: 4, beforeId: page1[3]?.id });
    expect(page1.map((e) => e.amount)).toEqual([-1, -1, -1, -1]);
    expect(page2.map((e) => e.kind)).toEqual(['phone_number', 'topup']);
    expect(page1[0]!.id).toBeGreaterThan(page1[1]!.id);
  });
});
