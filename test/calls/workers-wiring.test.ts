// Proves the call gate's workers are wired into the process: startWorkers registers the
// repeating call sweep on the maintenance queue and runs the call-billing worker, so a report
// posted to the webhook is charged without any test-only plumbing.
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { CALL_SWEEP_SCHEDULER_ID } from '../../workers/call-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { eventually } from '../support/eventually';
import { endOfCallReport, postWebhook, registerNumber } from '../support/vapi';

describe('call gate workers in the process', () => {
  let ctx: TestContext;
  let workers: RunningWorkers;
  beforeAll(async () => {
    ctx = await createTestContext({ SWEEP_INTERVAL_MS: '60000' });
    workers = await startWorkers(ctx.services);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await workers.close(5000);
    await ctx.close();
  });

  it('schedules the call sweep every SWEEP_INTERVAL_MS', async () => {
    const scheduler = await ctx.services.queues.maintenance.getJobScheduler(CALL_SWEEP_SCHEDULER_ID);
    expect(scheduler).toMatchObject({ every: 60000, name: CALL_SWEEP_SCHEDULER_ID });
  });

  it('bills a posted end-of-call report through the running billing worker', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), endOfCallReport('wired-1', { orgId, seconds: 10, num }));
    const amount = await eventually(async () => {
      const r = await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call'", [orgId]);
      return r.rows[0] ? Number(r.rows[0].amount) : undefined;
    });
    expect(amount).toBe(-10); // ceil(10 × 56 ÷ 60)
  });
});
