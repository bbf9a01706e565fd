// Proves the Redis hold scripts against a real Redis (explicit clocks, no waiting): holds expire
// at their time and stop counting, a release counts once, the running sum is rebuilt from the
// holds if it is lost, and a cache fill never double-counts a hold Redis already knows.
import { createTestContext, type TestContext } from '../support/context';

describe('Redis hold scripts', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  const T = 1_800_000_000_000;
  let n = 0;
  async function org(balance: number): Promise<string> {
    const orgId = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    await ctx.services.cache.put(orgId, { balance, version: 1, currency: 'gbp' });
    return orgId;
  }
  const hot = () => ctx.services.calls.hot;

  it('stops counting a hold once it expires', async () => {
    const orgId = await org(1000);
    expect(await hot().step(orgId, 'x1', 900, 600, T + 1000, 79, T)).toMatchObject({ outcome: 'held', available: 100 });
    expect(await hot().step(orgId, 'x2', null, 10, 0, 79, T + 999)).toEqual({ outcome: 'available', available: 100 });
    expect(await hot().step(orgId, 'x2', null, 10, 0, 79, T + 1000)).toEqual({ outcome: 'available', available: 1000 });
    expect(await hot().held(orgId, T + 1000)).toBe(0);
  });

  it('counts a release once, and answers a released call as existing without a new hold', async () => {
    const orgId = await org(1000);
    await hot().step(orgId, 'r1', 500, 600, T + 100_000, 79, T);
    expect(await hot().release(orgId, 'r1', T + 50_000, T)).toBe(true);
    expect(await hot().release(orgId, 'r1', T + 50_000, T)).toBe(false);
    expect(await hot().held(orgId, T)).toBe(0);
    expect(await hot().step(orgId, 'r1', 500, 600, T + 100_000, 79, T)).toEqual({ outcome: 'existing', hold_amount: 500, max_duration_seconds: 600, hold_state: 'released' });
    expect(await hot().held(orgId, T)).toBe(0);
  });

  it('rebuilds the running sum from the holds when the sum key is lost', async () => {
    const orgId = await org(1000);
    await hot().step(orgId, 's1', 300, 600, T + 100_000, 79, T);
    await hot().step(orgId, 's2', 200, 600, T + 100_000, 79, T);
    await ctx.services.redis.del(`${ctx.services.keys.holds(orgId)}:sum`);
    expect(await hot().step(orgId, 's3', null, 10, 0, 79, T)).toEqual({ outcome: 'available', available: 500 });
  });

  it('adds holds from Postgres on a fill only for calls Redis does not know', async () => {
    const orgId = await org(1000);
    await hot().step(orgId, 'f1', 300, 600, T + 100_000, 79, T);
    await hot().fill(orgId, { balance: 1000, version: 1, currency: 'gbp', holds: [
      { call_id: 'f1', amount: 300, max_duration_seconds: 600, expires_at_ms: T + 100_000 },
      { call_id: 'f2', amount: 200, max_duration_seconds: 600, expires_at_ms: T + 100_000 },
      { call_id: 'f3', amount: 999, max_duration_seconds: 600, expires_at_ms: T - 1 },
    ] }, T);
    expect(await hot().held(orgId, T)).toBe(500);
  });

  it('leaves no keys behind for an organisation that never held anything', async () => {
    const orgId = await org(0);
    expect(await hot().step(orgId, 'none', null, 10, 0, 79, T)).toEqual({ outcome: 'available', available: 0 });
    expect(await hot().held(orgId, T)).toBe(0);
    const holds = ctx.services.keys.holds(orgId);
    expect(await ctx.services.redis.exists(holds, `${holds}:expiry`, `${holds}:sum`)).toBe(0);
  });
});
