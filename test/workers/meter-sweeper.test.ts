// Proves the meter sweep reaches every open call however many there are (issue 22, item 6): one
// pass reads at most METER_SWEEP_MAX_PAGES pages, and the next pass carries on after the call the
// last one stopped at (a cursor kept in Redis), wrapping to the start past the last page. Real
// Postgres and Redis: 25 calls admitted through the webhook, pages of one call (20 a pass), then
// Redis loses everything, and successive passes must give each call back its hold and its next
// renewal, the five past the first pass's budget included.
import { jobIds } from '../../shared/queues/queues';
import { METER_SWEEP_MAX_PAGES, meterSweepDeps, sweepMeters } from '../../workers/meter-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { holdsRecorded } from '../support/holds';
import { deleteByPrefix } from '../support/redis';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

/** CALL_SWEEP_BATCH_SIZE at its smallest: one call a page, so a pass covers METER_SWEEP_MAX_PAGES calls. */
const PAGE_SIZE = 1;
const PER_PASS = PAGE_SIZE * METER_SWEEP_MAX_PAGES;
const CALLS = PER_PASS + 5;

describe('meter sweeper', () => {
  let ctx: TestContext;
  let orgId: string;
  // In call id order, the sweep's order.
  const ids = Array.from({ length: CALLS }, (_, i) => `open-${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    ctx = await createTestContext({ CALL_SWEEP_BATCH_SIZE: String(PAGE_SIZE) });
    orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    for (const id of ids) expect((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, ids);
  });
  afterAll(async () => ctx.close());

  /** Redis loses every hold, every waiting renewal and the sweep's cursor. */
  const loseRedis = () => deleteByPrefix(ctx.services.redis, ctx.services.keys.prefix);
  /** The calls that have their hold in Redis and their next renewal queued again. */
  async function restored(): Promise<string[]> {
    const back: string[] = [];
    for (const id of ids) {
      const hold = await ctx.services.redis.hget(ctx.services.keys.holds(orgId), id);
      const renewal = await ctx.services.queues.callMeters.getJob(jobIds.meter(id, 2));
      if (hold !== null && renewal !== undefined) back.push(id);
    }
    return back;
  }
  const pass = () => sweepMeters(meterSweepDeps(ctx.services));

  it('the meter sweeper reaches every open call beyond its per-pass page budget, within ceil(calls / (page size × pages)) passes', async () => {
    await loseRedis();
    const first = await pass();
    expect(first).toMatchObject({ calls: PER_PASS, metersCreated: PER_PASS, errors: 0 });
    // The budget is real: the first pass gave back the first twenty only.
    expect(await restored()).toEqual(ids.slice(0, PER_PASS));

    for (let n = 2; n <= Math.ceil(CALLS / PER_PASS); n++) {
      const next = await pass();
      expect(next.errors).toBe(0);
      // A pass never takes a call twice, wrapping or not.
      expect(next.calls).toBeLessThanOrEqual(PER_PASS);
    }
    expect(await restored()).toEqual(ids);
  });

  it('a pass that starts mid-list wraps to the first call and stops where it began, each call once', async () => {
    await loseRedis();
    await ctx.services.redis.set(ctx.services.keys.meterSweepCursor, 'open-10');
    // A budget larger than the list: open-11 … open-24, then open-00 … open-10, and no further.
    const whole = await sweepMeters({ ...meterSweepDeps(ctx.services), batchSize: 10 });
    expect(whole).toMatchObject({ calls: CALLS, metersCreated: CALLS, errors: 0 });
    expect(await restored()).toEqual(ids);
    expect(await ctx.services.redis.get(ctx.services.keys.meterSweepCursor)).toBe('open-10');
  });
});
