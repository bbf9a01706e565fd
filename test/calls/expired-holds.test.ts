// Proves that a Redis hold entry past its expiry is not read as a live call by the TypeScript
// readers of the holds hash (redis-holds.ts state() and heldEntries()), at the clock they are
// given — the one the scripts take as `now` — although the entry is still in the hash until a
// script purges it; and that the meter therefore neither tries to end such a call nor counts it
// as one it could not end (issue 22 item 11: false "not endable" alerts). Real Redis and Postgres;
// steps run directly at explicit times.
import type { StoredHold } from '../../shared/calls/call-store';
import type { CallMeterJob } from '../../shared/queues/queues';
import { createTestContext, type TestContext } from '../support/context';

describe('expired Redis hold entries', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  const T = 1_800_000_000_000;
  const orgId = '00000000-0000-4000-8000-0000000e0001';
  const hold = (call_id: string, expires_at_ms: number): StoredHold => ({ call_id, state: 'held', amount: 112, max_duration_seconds: 600, expires_at_ms, admitted_at_ms: T, cap: 560, slices: 1 });
  const total = async (counter: 'callsUnendable' | 'callControl') => (await ctx.services.metrics[counter].get()).values.reduce((n, v) => n + v.value, 0);

  it('reports an entry past its expiry as expired, not held, and leaves it out of the held entries', async () => {
    const hot = ctx.services.calls.hot;
    // Written while both were live (the fill script keeps only unexpired holds at its `now`).
    await hot.mirror(orgId, [hold('gone-1', T + 60_000), hold('live-1', T + 600_000)], T);
    // Still in the hash: no script has run since the first one expired.
    expect(await ctx.services.redis.hexists(ctx.services.keys.holds(orgId), 'gone-1')).toBe(1);

    expect(await hot.state(orgId, 'gone-1', T + 59_999)).toBe('held');
    expect(await hot.state(orgId, 'gone-1', T + 60_000)).toBe('expired'); // purge() takes expiresAtMs ≤ now
    expect(await hot.state(orgId, 'live-1', T + 60_000)).toBe('held');
    expect(await hot.state(orgId, 'unknown', T + 60_000)).toBeUndefined();

    expect((await hot.heldEntries(orgId, T + 59_999)).map((h) => h.call_id).sort()).toEqual(['gone-1', 'live-1']);
    expect((await hot.heldEntries(orgId, T + 60_000)).map((h) => h.call_id)).toEqual(['live-1']);
    expect(await hot.heldEntries(orgId, T + 600_000)).toEqual([]);
  });

  it('neither tries to end nor counts as unendable a call whose entry expired: its hang-up finds it not live, a freeze finds no call', async () => {
    const hot = ctx.services.calls.hot;
    const other = '00000000-0000-4000-8000-0000000e0002';
    const now = Date.now();
    // Admitted long ago; maxDuration + grace ran out a second ago. No control URL was ever learned
    // and Postgres has no row: read as live, it would be counted "not endable" (no_url).
    await hot.mirror(other, [hold('gone-2', now - 1000)], now - 2000);
    const job: CallMeterJob = { kind: 'hangup', callId: 'gone-2', orgId: other, slice: 1, admittedAtMs: T, maxDurationSeconds: 600, expiresAtMs: now - 1000, cap: 560, dueAtMs: now };
    const [unendable, control] = [await total('callsUnendable'), await total('callControl')];

    expect(await ctx.services.calls.meters.step(job)).toBe('not_live');
    expect(await ctx.services.calls.meters.endLiveCalls(other, 'v9')).toBe(0);
    expect(await total('callsUnendable')).toBe(unendable);
    expect(await total('callControl')).toBe(control);
  });
});
