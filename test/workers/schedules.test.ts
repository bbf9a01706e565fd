// Proves the sweeps survive a Redis that loses its data: after the maintenance queue's job
// schedulers (and the rentals queue's rent sweep, issue 24) are wiped, the running workers process
// re-asserts them within a sweep interval,
// without a restart (failure mode 12; the open finding of docs/chaos.md). And a workers process
// started while Redis is down starts, and gets its schedules once Redis is back.
import { CALL_SWEEP_SCHEDULER_ID } from '../../workers/call-sweeper';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { RECONCILE_SCHEDULER_ID } from '../../workers/number-reconciler';
import { STRIPE_CATCH_UP_SCHEDULER_ID } from '../../workers/stripe-catch-up';
import { PROVISIONING_SWEEP_SCHEDULER_ID } from '../../workers/provisioning-sweeper';
import { RENT_SWEEP_SCHEDULER_ID } from '../../workers/rent-worker';
import { createTestContext, type TestContext } from '../support/context';
import { startRedisServer, type TestRedisServer } from '../support/redis-server';
import { eventually } from '../support/eventually';

describe('sweep schedules', () => {
  let ctx: TestContext;
  let workers: RunningWorkers;
  beforeAll(async () => {
    ctx = await createTestContext({ SWEEP_INTERVAL_MS: '300' });
    workers = await startWorkers(ctx.services);
  });
  afterAll(async () => {
    await workers.close(5000);
    await ctx.close();
  });

  it('re-creates every periodic task\'s scheduler after Redis lost them', async () => {
    const { maintenance } = ctx.services.queues;
    const all = [CALL_SWEEP_SCHEDULER_ID, PROVISIONING_SWEEP_SCHEDULER_ID, RECONCILE_SCHEDULER_ID, STRIPE_CATCH_UP_SCHEDULER_ID].sort();
    const ids = async () => (await maintenance.getJobSchedulers()).map((s) => s.key).sort();
    expect(await ids()).toEqual(all);
    // Each removal must find its scheduler (so it really was wiped); a listing in between would
    // race the 300 ms re-assert timer on a loaded machine.
    for (const id of all) expect(await maintenance.removeJobScheduler(id)).toBe(true);
    const back = await eventually(async () => {
      const now = await ids();
      return now.length === all.length ? now : undefined;
    });
    expect(back).toEqual(all);
  });

  it('re-creates the rent sweep\'s scheduler after Redis lost it', async () => {
    const { rentals } = ctx.services.queues;
    const ids = async () => (await rentals.getJobSchedulers()).map((s) => s.key);
    expect(await ids()).toEqual([RENT_SWEEP_SCHEDULER_ID]);
    expect(await rentals.removeJobScheduler(RENT_SWEEP_SCHEDULER_ID)).toBe(true);
    expect(await eventually(async () => ((await ids()).length === 1 ? await ids() : undefined))).toEqual([RENT_SWEEP_SCHEDULER_ID]);
  });
});

describe('a workers process started while Redis is down', () => {
  let redis: TestRedisServer;
  let ctx: TestContext;
  beforeAll(async () => {
    redis = await startRedisServer();
    ctx = await createTestContext({ REDIS_URL: redis.url, SWEEP_INTERVAL_MS: '300' });
  });
  afterAll(async () => {
    await redis.start().catch(() => undefined);
    await ctx.close();
    await redis.dispose();
  });

  it('starts, and asserts its schedules once Redis is back', async () => {
    await redis.stop();
    // Before: the first assert threw ("max retries per request") and the process exited.
    const workers = await startWorkers(ctx.services);
    try {
      await redis.start();
      const { maintenance } = ctx.services.queues;
      const all = [CALL_SWEEP_SCHEDULER_ID, PROVISIONING_SWEEP_SCHEDULER_ID, RECONCILE_SCHEDULER_ID, STRIPE_CATCH_UP_SCHEDULER_ID].sort();
      const back = await eventually(async () => {
        const now = (await maintenance.getJobSchedulers().catch(() => [])).map((s) => s.key).sort();
        return now.length === all.length ? now : undefined;
      });
      expect(back).toEqual(all);
      expect(await eventually(async () => ((await ctx.services.queues.rentals.getJobSchedulers().catch(() => [])).length === 1 ? true : undefined))).toBe(true);
    } finally {
      await workers.close(5000);
    }
  });
});
