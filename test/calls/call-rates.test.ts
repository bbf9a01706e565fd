// Proves the call gate and call billing take their prices from the configuration alone
// (failure mode 5): with CALL_RATE_PER_MINUTE=120 and CALL_MIN_BALANCE=200 instead of the
// defaults, the granted duration, the refusal threshold and the charge all follow, through the
// real webhook, billing worker and SQL functions.
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { eventually } from '../support/eventually';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber } from '../support/vapi';

describe('call prices come from the configuration', () => {
  let ctx: TestContext;
  let workers: RunningWorkers;
  beforeAll(async () => {
    ctx = await createTestContext({ CALL_RATE_PER_MINUTE: '120', CALL_MIN_BALANCE: '200', SWEEP_INTERVAL_MS: '60000' });
    workers = await startWorkers(ctx.services);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await workers.close(5000);
    await ctx.close();
  });

  it('grants floor(balance × 60 ÷ rate) − margin seconds at the configured rate', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const res = await postWebhook(ctx.app(), assistantRequest(num));
    expect(res.body.assistantOverrides.maxDurationSeconds).toBe(495); // floor(1000 × 60 ÷ 120) − 5
  });

  it('refuses below the configured minimum balance', async () => {
    const orgId = await createFundedOrg(ctx.services, 150); // above the default 79, below 200
    const num = await registerNumber(ctx.services, orgId);
    const res = await postWebhook(ctx.app(), assistantRequest(num));
    expect(Object.keys(res.body)).toEqual(['error']);
  });

  it('charges ceil(seconds × rate ÷ 60) at the configured rate', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), endOfCallReport('rate-1', { orgId, seconds: 31, num }));
    const amount = await eventually(async () => {
      const r = await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call'", [orgId]);
      return r.rows[0] ? Number(r.rows[0].amount) : undefined;
    });
    expect(amount).toBe(-62); // ceil(31 × 120 ÷ 60); the default rate would charge 29
  });
});
