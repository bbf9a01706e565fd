// Proves the sweeps survive a Redis that loses its data: after the maintenance queue's job
// schedulers are wiped, the running workers process re-asserts both within a sweep interval,
// without a restart (failure mode 12; the open finding of docs/chaos.md).
import { CALL_SWEEP_SCHEDULER_ID } from '../../workers/call-sweeper';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { RECONCILE_SCHEDULER_ID } from '../../workers/number-reconciler';
import { PROVISIONING_SWEEP_SCHEDULER_ID } from '../../workers/provisioning-sweeper';
import { createTestContext, type TestContext } from '../support/context';
import { eventually } from '../support/vapi';

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
    const all = [CALL_SWEEP_SCHEDULER_ID, PROVISIONING_SWEEP_SCHEDULER_ID, RECONCILE_SCHEDULER_ID].sort();
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
});
