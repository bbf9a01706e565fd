// Proves the Redis hold scripts against a real Redis (explicit clocks, no waiting): holds expire
// at their time and stop counting, a release counts once, the running sum is rebuilt from the
// holds if it is lost, and a cache fill never double-counts a hold Redis already knows.
import { NO_SPEND_CONTROLS } from '../../shared/wallet/wallet-controls';
import type { HoldTerms } from '../../shared/calls/redis-holds';
import { createTestContext, type TestContext } from '../support/context';

describe('Redis hold scripts', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  const T = 1_800_000_000_000;
  // 60 a minute (one a second), no margin, no grace: a hold of N lasts N seconds and costs N.
  const terms: HoldTerms = { ratePerMinute: 60, minBalance: 10, safetyMarginSeconds: 0, holdGraceSeconds: 0, policy: 'full', holdSeconds: 120 };
  const stored = (call_id: string, amount: number, expires_at_ms: number) => ({ call_id, state: 'held' as const, amount, max_duration_seconds: 600, expires_at_ms, admitted_at_ms: T, cap: amount, slices: 1 });
  let n = 0;
  async function org(balance: number): Promise<string> {
    const orgId = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    await ctx.services.cache.put(orgId, { balance, version: 1, currency: 'gbp', controls: NO_SPEND_CONTROLS });
    return orgId;
  }
  const hot = () => ctx.services.calls.hot;

  it('stops counting a hold once it expires', async () => {
    const orgId = await org(1000);
    expect(await hot().decide(orgId, 'x1', terms, T)).toEqual({ outcome: 'held', hold_amount: 1000, max_duration_seconds: 1000, available: 0, expires_at_ms: T + 1_000_000, cap: 1000, held_seconds: 1000 });
    expect(await hot().decide(orgId, 'x2', terms, T + 999_999)).toEqual({ outcome: 'available', available: 0 });
    expect(await hot().held(orgId, T + 1_000_000)).toBe(0);
    expect(await hot().decide(orgId, 'x2', terms, T + 1_000_000)).toMatchObject({ outcome: 'held', hold_amount: 1000 });
  });

  it('counts a release once, and answers a released call as existing without a new hold', async () => {
    const orgId = await org(1000);
    await hot().decide(orgId, 'r1', terms, T);
    expect(await hot().release(orgId, 'r1', T + 50_000, T)).toBe(true);
    expect(await hot().release(orgId, 'r1', T + 50_000, T)).toBe(false);
    expect(await hot().held(orgId, T)).toBe(0);
    expect(await hot().decide(orgId, 'r1', terms, T)).toEqual({ outcome: 'existing', hold_amount: 1000, max_duration_seconds: 1000, hold_state: 'released' });
    expect(await hot().held(orgId, T)).toBe(0);
  });

  it('rebuilds the running sum from the holds when the sum key is lost', async () => {
    const orgId = await org(1000);
    await hot().fill(orgId, { balance: 1000, version: 1, currency: 'gbp', controls: NO_SPEND_CONTROLS, holds: [
      stored('s1', 300, T + 100_000),
      stored('s2', 200, T + 100_000),
    ] }, T);
    await ctx.services.redis.del(`${ctx.services.keys.holds(orgId)}:sum`);
    expect(await hot().held(orgId, T)).toBe(500);
    expect(await hot().decide(orgId, 's3', terms, T)).toMatchObject({ outcome: 'held', hold_amount: 500, available: 0 });
  });

  it('adds holds from Postgres on a fill only for calls Redis does not know', async () => {
    const orgId = await org(1000);
    await hot().fill(orgId, { balance: 1000, version: 1, currency: 'gbp', controls: NO_SPEND_CONTROLS, holds: [stored('f1', 300, T + 100_000)] }, T);
    await hot().fill(orgId, { balance: 1000, version: 1, currency: 'gbp', controls: NO_SPEND_CONTROLS, holds: [
      stored('f1', 300, T + 100_000),
      stored('f2', 200, T + 100_000),
      stored('f3', 999, T - 1),
    ] }, T);
    expect(await hot().held(orgId, T)).toBe(500);
  });

  it('leaves no keys behind for an organisation refused for want of money', async () => {
    const orgId = await org(0);
    expect(await hot().decide(orgId, 'none', terms, T)).toEqual({ outcome: 'available', available: 0 });
    expect(await hot().held(orgId, T)).toBe(0);
    const holds = ctx.services.keys.holds(orgId);
    expect(await ctx.services.redis.exists(holds, `${holds}:expiry`, `${holds}:sum`)).toBe(0);
  });
});
