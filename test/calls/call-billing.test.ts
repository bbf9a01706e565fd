// Proves per-second call billing from end-of-call reports, through the webhook, the real
// call-billing queue and worker, and the real SQL: one charge per call however many copies of
// its report arrive (failure mode 8, also when a status-update came first), the actual duration
// rather than the hold (18), recorded even beyond the debt limit (4), and seen by the next call.
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { eventually } from '../support/eventually';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber, statusUpdate } from '../support/vapi';

describe('call billing', () => {
  let ctx: TestContext;
  let worker: ReturnType<typeof startCallBillingWorker>;
  beforeAll(async () => {
    ctx = await createTestContext();
    worker = startCallBillingWorker(ctx.services);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await worker.close(5000);
    await ctx.close();
  });

  const callEntries = async (orgId: string) =>
    (await ctx.pool.query("select amount, reference from ledger_entries where org_id = $1 and kind = 'call' order by id", [orgId])).rows.map((r) => Number(r.amount));
  const balance = async (orgId: string) => Number((await ctx.pool.query('select balance from wallets where org_id = $1', [orgId])).rows[0].balance);
  const billed = (callId: string) =>
    eventually(async () => {
      const r = await ctx.pool.query('select billed_at from call_reports where call_id = $1', [callId]);
      return r.rows[0]?.billed_at ?? undefined;
    });

  it('charges ten concurrent copies of one report once, ceil(125 × 56 ÷ 60) = 117', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const gate = await postWebhook(ctx.app(), assistantRequest(num, 'bill-ten'));
    expect(gate.body.assistantId).toBe(num.assistantId);
    const copies = await Promise.all(Array.from({ length: 10 }, () => postWebhook(ctx.app(), endOfCallReport('bill-ten', { orgId, seconds: 125, num }))));
    for (const r of copies) expect([r.status, r.body]).toEqual([200, { received: true }]);
    await billed('bill-ten');
    expect(await callEntries(orgId)).toEqual([-117]);
    expect(await balance(orgId)).toBe(883);
    // A late copy after billing changes nothing either.
    await postWebhook(ctx.app(), endOfCallReport('bill-ten', { orgId, seconds: 125, num }));
    expect(await callEntries(orgId)).toEqual([-117]);
  });

  it('bills the report even when a status-update of the same call arrived first (failure mode 8)', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), assistantRequest(num, 'bill-after-status'));
    await postWebhook(ctx.app(), statusUpdate('bill-after-status', 'in-progress', orgId));
    await postWebhook(ctx.app(), statusUpdate('bill-after-status', 'ended', orgId));
    await postWebhook(ctx.app(), endOfCallReport('bill-after-status', { orgId, seconds: 60, num }));
    await billed('bill-after-status');
    expect(await callEntries(orgId)).toEqual([-56]);
  });

  it('charges a long call its actual duration, not its hold, and records it beyond the debt limit (failure modes 18, 4)', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const gate = await postWebhook(ctx.app(), assistantRequest(num, 'bill-long'));
    expect(gate.body.assistantOverrides.maxDurationSeconds).toBe(1066); // holds 995
    const beyondBefore = (await ctx.services.metrics.callsBeyondDebtLimit.get()).values[0]?.value ?? 0;
    // The call ran far past what was held, within its plausible bound (1066 + 300 s of grace):
    // 1300 s cost ceil(1300 × 56 ÷ 60) = 1214.
    await postWebhook(ctx.app(), endOfCallReport('bill-long', { orgId, seconds: 1300, num }));
    await billed('bill-long');
    expect(await callEntries(orgId)).toEqual([-1214]);
    expect(await balance(orgId)).toBe(-214);
    expect((await ctx.services.metrics.callsBeyondDebtLimit.get()).values[0]?.value).toBe(beyondBefore + 1);
    // The negative balance refuses the next call (the charge went through to the cache).
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'bill-long-next'))).body.error).toMatch(/credit/);
  });

  it('releases the hold when the call is billed, so the next call sees the new balance', async () => {
    // 150: the first call's slice of 112 leaves 38, below the 79 a second call needs.
    const orgId = await createFundedOrg(ctx.services, 150);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'bill-release'))).body.assistantId).toBeDefined();
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'bill-blocked'))).body.error).toBeDefined();
    await postWebhook(ctx.app(), endOfCallReport('bill-release', { orgId, seconds: 30, num }));
    await billed('bill-release');
    // The worker releases the Redis copy of the hold just after stamping the report billed.
    await eventually(async () => ((await ctx.services.calls.hot.held(orgId)) === 0 ? true : undefined));
    // 150 − ceil(30 × 56 ÷ 60) = 122 left, no hold: floor(122 × 60 ÷ 56) − 5 = 125 s.
    const next = await postWebhook(ctx.app(), assistantRequest(num, 'bill-next'));
    expect(next.body.assistantOverrides.maxDurationSeconds).toBe(125);
  });

  it('bills zero seconds as a zero charge, and uses durationSeconds when the timestamps are missing', async () => {
    const orgId = await createFundedOrg(ctx.services, 500);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), endOfCallReport('bill-zero', { orgId, seconds: 0, num }));
    const noTimes = endOfCallReport('bill-duration-only', { orgId, seconds: 0, num }) as { message: Record<string, unknown> };
    delete noTimes.message.startedAt;
    delete noTimes.message.endedAt;
    noTimes.message.durationSeconds = 61.2; // ceil(61.2 × 56 ÷ 60) = ceil(57.12) = 58
    await postWebhook(ctx.app(), noTimes);
    await billed('bill-zero');
    await billed('bill-duration-only');
    // Two jobs, billed in either order.
    expect((await callEntries(orgId)).sort((a, b) => a - b)).toEqual([-58, 0]);
  });

  it('rounds a call charge once, from exact milliseconds: 10.001 s at 56/min costs ceil(9.3343) = 10, not 11', async () => {
    const orgId = await createFundedOrg(ctx.services, 500);
    const num = await registerNumber(ctx.services, orgId);
    // From the timestamps (endedAt − startedAt = 10 001 ms)…
    await postWebhook(ctx.app(), endOfCallReport('bill-once-times', { orgId, seconds: 10.001, num }));
    // …and from durationSeconds alone.
    const noTimes = endOfCallReport('bill-once-duration', { orgId, seconds: 0, num }) as { message: Record<string, unknown> };
    delete noTimes.message.startedAt;
    delete noTimes.message.endedAt;
    noTimes.message.durationSeconds = 10.001;
    await postWebhook(ctx.app(), noTimes);
    await billed('bill-once-times');
    await billed('bill-once-duration');
    expect(await callEntries(orgId)).toEqual([-10, -10]);
  });

  it('bills a call that never passed the gate, finding the organisation by its number', async () => {
    const orgId = await createFundedOrg(ctx.services, 500);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), endOfCallReport('bill-ungated', { seconds: 90, num }));
    await billed('bill-ungated');
    expect(await callEntries(orgId)).toEqual([-84]);
    const settled = (await ctx.services.metrics.callsSettled.get()).values.find((v) => v.labels.source === 'report');
    expect(settled?.value).toBeGreaterThanOrEqual(1);
  });
});
