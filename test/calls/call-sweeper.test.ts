// Proves the call sweeper (failure mode 19): a call whose end-of-call report never came is
// settled from the Vapi call simulator's GET /call/{id} and billed once, the gap counted in
// metrics; calls Vapi does not know end their hold without a charge; live calls are left alone;
// recorded but unbilled reports are re-enqueued and billed by the real worker.
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { callSweepDeps, sweepCalls } from '../../workers/call-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { assistantRequest, endOfCallReport, eventually, postWebhook, registerNumber, startVapiCallSimulator, statusUpdate } from '../support/vapi';

describe('call sweeper', () => {
  let ctx: TestContext;
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  beforeAll(async () => {
    sim = await startVapiCallSimulator();
    ctx = await createTestContext({ VAPI_API_BASE_URL: sim.url, CALL_HOLD_GRACE_SECONDS: '60' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await ctx.close();
    await sim.close();
  });

  const later = () => new Date(Date.now() + 2 * 24 * 3600 * 1000); // every hold has expired by then
  const callEntries = async (orgId: string) =>
    (await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call' order by id", [orgId])).rows.map((r) => Number(r.amount));
  const durable = (callId: string) => eventually(async () => ((await ctx.pool.query('select 1 from calls where call_id = $1', [callId])).rowCount === 1 ? true : undefined));
  const counter = async (name: 'callReportsMissing' | 'callsSettled', label?: string) => {
    const values = (await ctx.services.metrics[name].get()).values;
    return values.filter((v) => label === undefined || v.labels.source === label).reduce((n, v) => n + v.value, 0);
  };
  async function simCall(id: string, startedAt: Date) {
    const res = await fetch(`${sim.url}/sandbox/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id, startedAt: startedAt.toISOString() }) });
    expect(res.status).toBe(201);
  }
  async function simEnd(id: string, endedAt: Date) {
    const res = await fetch(`${sim.url}/sandbox/calls/${id}/end`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ endedAt: endedAt.toISOString() }) });
    expect(res.status).toBe(200);
  }

  it('settles a call whose report never came from GET /call/{id}, bills it once, and counts the gap', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const start = new Date(Date.now() - 200_000);
    await simCall('sw-lost', start);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'sw-lost'))).body.assistantId).toBe(num.assistantId);
    await durable('sw-lost');
    await simEnd('sw-lost', new Date(start.getTime() + 95_000));
    const missingBefore = await counter('callReportsMissing');

    const first = await sweepCalls(callSweepDeps(ctx.services), later());
    expect(first).toMatchObject({ settled: 1, errors: 0 });
    // ceil(95 × 56 ÷ 60) = 89
    expect(await callEntries(orgId)).toEqual([-89]);
    expect(await counter('callReportsMissing')).toBe(missingBefore + 1);
    expect(await counter('callsSettled', 'sweeper')).toBeGreaterThanOrEqual(1);

    // Sweeping again, and the real report arriving late, charge nothing more.
    expect((await sweepCalls(callSweepDeps(ctx.services), later())).settled).toBe(0);
    expect((await postWebhook(ctx.app(), endOfCallReport('sw-lost', { orgId, seconds: 100, num }))).status).toBe(200);
    expect(await callEntries(orgId)).toEqual([-89]);
    // The hold is gone: 1000 − 89 = 911 → floor(911 × 60 ÷ 56) − 5 = 971 s.
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'sw-next'))).body.assistantOverrides.maxDurationSeconds).toBe(971);
  });

  it('settles a call that ended (status-update) but whose report never came, once the grace has passed', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const start = new Date(Date.now() - 100_000);
    await simCall('sw-ended', start);
    await postWebhook(ctx.app(), assistantRequest(num, 'sw-ended'));
    await durable('sw-ended');
    await simEnd('sw-ended', new Date(start.getTime() + 30_000));
    await postWebhook(ctx.app(), statusUpdate('sw-ended', 'ended', orgId));
    // Within the grace the report may still come: nothing to do yet.
    expect((await sweepCalls(callSweepDeps(ctx.services), new Date())).settled).toBe(0);
    expect((await sweepCalls(callSweepDeps(ctx.services), new Date(Date.now() + 61_000))).settled).toBe(1);
    expect(await callEntries(orgId)).toEqual([-28]); // ceil(30 × 56 ÷ 60)
  });

  it('ends the hold of a call Vapi does not know, without a charge, and leaves live calls alone', async () => {
    const orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), assistantRequest(num, 'sw-ghost'));
    await simCall('sw-live', new Date());
    await postWebhook(ctx.app(), assistantRequest(num, 'sw-live'));
    await durable('sw-ghost');
    await durable('sw-live');
    const r = await sweepCalls(callSweepDeps(ctx.services), later());
    // (Earlier tests' unsettled calls, unknown to the simulator, are swept here too.)
    expect(r).toMatchObject({ stillLive: 1, errors: 0 });
    expect(r.notFound).toBeGreaterThanOrEqual(1);
    expect(await callEntries(orgId)).toEqual([]);
    const rows = await ctx.pool.query("select call_id, hold_state, settled_by from calls where call_id in ('sw-ghost', 'sw-live') order by call_id");
    expect(rows.rows).toEqual([
      { call_id: 'sw-ghost', hold_state: 'released', settled_by: 'not_found' },
      { call_id: 'sw-live', hold_state: 'held', settled_by: null },
    ]);
  });

  it('re-enqueues a recorded report that was never billed, and the worker bills it', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    // The report was recorded but its job never made it to the queue (e.g. Redis was down).
    await ctx.services.calls.store.recordReport({
      callId: 'sw-unbilled', orgId, vapiPhoneNumberId: null, e164: null, startedAt: '2026-11-23T10:00:00.000Z',
      endedAt: '2026-11-23T10:02:00.000Z', durationSeconds: null, endedReason: 'customer-ended-call', source: 'webhook',
    });
    const r = await sweepCalls(callSweepDeps(ctx.services), later());
    expect(r.reenqueued).toBe(1);
    const worker = startCallBillingWorker(ctx.services);
    try {
      await eventually(async () => ((await callEntries(orgId)).length === 1 ? true : undefined));
    } finally {
      await worker.close(5000);
    }
    expect(await callEntries(orgId)).toEqual([-112]); // ceil(120 × 56 ÷ 60)
    expect((await sweepCalls(callSweepDeps(ctx.services), later())).reenqueued).toBe(0);
  });
});
