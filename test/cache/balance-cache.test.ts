// Proves the Redis balance cache against a real Redis: a write never replaces a newer version
// (writers finishing out of order), concurrent writers converge on the highest version, and
// every money movement through the wallet service writes the new balance through.
import { BalanceCache } from '../../shared/cache/balance-cache';
import { billCall } from '../../shared/calls/call-billing';
import { createMetrics } from '../../shared/metrics';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

describe('balance cache', () => {
  let ctx: TestContext;
  let cache: BalanceCache;
  beforeAll(async () => {
    ctx = await createTestContext();
    cache = new BalanceCache(ctx.services.redis, ctx.services.keys, 60, createMetrics());
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  it('keeps the newer version when an older write arrives late', async () => {
    expect(await cache.put('org-a', { balance: 500, version: 7, currency: 'gbp' })).toBe(true);
    expect(await cache.put('org-a', { balance: 900, version: 6, currency: 'gbp' })).toBe(false);
    expect(await cache.put('org-a', { balance: 900, version: 7, currency: 'gbp' })).toBe(false);
    expect(await cache.get('org-a')).toEqual({ balance: 500, version: 7, currency: 'gbp' });
  });

  it('converges on the highest version when 50 writers race', async () => {
    const versions = Array.from({ length: 50 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    await Promise.all(versions.map((v) => cache.put('org-b', { balance: v * 10, version: v, currency: 'gbp' })));
    expect(await cache.get('org-b')).toEqual({ balance: 500, version: 50, currency: 'gbp' });
  });

  it('sets a TTL so a stale entry cannot live forever', async () => {
    await cache.put('org-c', { balance: 1, version: 1, currency: 'gbp' });
    const ttl = await ctx.services.redis.pttl(ctx.services.keys.wallet('org-c'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('follows every money movement made through the wallet service', async () => {
    const { wallet, store } = ctx.services;
    const orgId = await createFundedOrg(ctx.services, 2000);
    const expectCacheMatchesDb = async () => {
      const db = await store.getWallet(orgId);
      expect(await cache.get(orgId)).toEqual({ balance: db?.balance, version: db?.version, currency: 'gbp' });
    };
    await expectCacheMatchesDb();
    const debit = await wallet.debitForPurchase({ orgId, amount: 1000, idempotencyKey: 'buy', reference: 'x' });
    await expectCacheMatchesDb();
    if (debit.outcome !== 'debited') throw new Error('debit failed');
    await wallet.refund({ orgId, entryId: debit.entryId, reason: 'failed' });
    await expectCacheMatchesDb();
    // A call charge is posted by call_settle and written through by billCall.
    await ctx.services.calls.store.recordReport({
      callId: 'c1', orgId, vapiPhoneNumberId: null, e164: null, startedAt: null, endedAt: null, durationSeconds: 60, endedReason: null, source: 'webhook',
    });
    expect(await billCall(ctx.services.calls.billing, 'c1', 'report')).toMatchObject({ outcome: 'charged', amount: 56 });
    await expectCacheMatchesDb();
    expect((await cache.get(orgId))?.balance).toBe(1944);
  });

  it('reads through from Postgres on a miss and fills the cache', async () => {
    const orgId = await createFundedOrg(ctx.services, 321);
    await ctx.services.redis.del(ctx.services.keys.wallet(orgId));
    expect(await ctx.services.wallet.cachedBalance(orgId)).toMatchObject({ balance: 321 });
    expect(await cache.get(orgId)).toMatchObject({ balance: 321 });
  });
});
