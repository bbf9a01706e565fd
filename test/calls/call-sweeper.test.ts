// Proves the call sweeper (failure mode 19): a call whose end-of-call report never came is
// settled from the Vapi call simulator's GET /call/{id} and billed once, the gap counted in
// metrics; calls Vapi does not know end their hold without a charge; live calls are left alone;
// recorded but unbilled reports are re-enqueued and billed by the real worker. A call whose Vapi
// object has endedAt but no startedAt is billed from our admission to that endedAt (clamped to
// 0..its bound), never to the sweep time (issue 22 item 10).
import { enqueueBilling } from '../../shared/calls/call-reports';
import type { SweepCursor } from '../../shared/calls/call-store';
import { createVapiClient } from '../../shared/clients/vapi-client';
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { CALL_SWEEP_BACKOFF_MAX_MS, callSweepDeps, sweepBackoffMs, sweepCalls } from '../../workers/call-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { freePort } from '../support/redis-server';
import { eventually } from '../support/eventually';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber, startVapiCallSimulator, statusUpdate, type TestNumber } from '../support/vapi';

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
    await holdsRecorded(ctx.pool, ['sw-lost']);
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
    await holdsRecorded(ctx.pool, ['sw-ended']);
    await simEnd('sw-ended', new Date(start.getTime() + 30_000));
    await postWebhook(ctx.app(), statusUpdate('sw-ended', 'ended', orgId));
    // Within the grace the report may still come: nothing to do yet.
    expect((await sweepCalls(callSweepDeps(ctx.services), new Date())).settled).toBe(0);
    expect((await sweepCalls(callSweepDeps(ctx.services), new Date(Date.now() + 61_000))).settled).toBe(1);
    expect(await callEntries(orgId)).toEqual([-28]); // ceil(30 × 56 ÷ 60)
  });

  it('bills a call whose Vapi object has endedAt but no startedAt from its admission to that endedAt, never to the sweep time', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const created = await fetch(`${sim.url}/sandbox/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 'sw-nostart', startedAt: null }) });
    expect(created.status).toBe(201);
    const gate = await postWebhook(ctx.app(), assistantRequest(num, 'sw-nostart'));
    const maxDuration = gate.body.assistantOverrides.maxDurationSeconds as number;
    await holdsRecorded(ctx.pool, ['sw-nostart']);
    // Admitted ten minutes ago (the sweeper comes long after a call whose report never came)...
    const admitted = new Date(Date.now() - 600_000);
    await ctx.pool.query('update calls set admitted_at = $2 where call_id = $1', ['sw-nostart', admitted.toISOString()]);
    // ...and, by Vapi's call object, ended 20 s later, with no startedAt.
    await simEnd('sw-nostart', new Date(admitted.getTime() + 20_000));
    const vapiCall = await (await fetch(`${sim.url}/call/sw-nostart`, { headers: { authorization: 'Bearer k' } })).json();
    expect(vapiCall).toMatchObject({ status: 'ended', startedAt: null, endedAt: new Date(admitted.getTime() + 20_000).toISOString() });

    const r = await sweepCalls(callSweepDeps(ctx.services), later());
    expect(r).toMatchObject({ errors: 0 });
    expect(r.settled).toBeGreaterThanOrEqual(1);
    // ceil(20 × 56 ÷ 60) = 19: the 20 s call, not the 600 s to the sweep (560) nor its bound.
    expect(await callEntries(orgId)).toEqual([-19]);
    expect(Math.ceil(((maxDuration + 60) * 56) / 60)).toBeGreaterThan(19);
  });

  it('clamps a call without startedAt to 0..its bound: an endedAt before admission costs nothing, one two days after it costs the bound', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const maxDurations: number[] = [];
    for (const id of ['sw-nostart-early', 'sw-nostart-late']) {
      const created = await fetch(`${sim.url}/sandbox/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id, startedAt: null }) });
      expect(created.status).toBe(201);
      maxDurations.push((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantOverrides.maxDurationSeconds as number);
      await holdsRecorded(ctx.pool, [id]);
    }
    const admitted = new Date(Date.now() - 3 * 86_400_000);
    await ctx.pool.query("update calls set admitted_at = $1 where call_id in ('sw-nostart-early', 'sw-nostart-late')", [admitted.toISOString()]);
    await simEnd('sw-nostart-early', new Date(admitted.getTime() - 5_000));
    await simEnd('sw-nostart-late', new Date(admitted.getTime() + 2 * 86_400_000));
    expect((await sweepCalls(callSweepDeps(ctx.services), later())).errors).toBe(0);
    const billed = await ctx.pool.query("select c.call_id, -e.amount as amount from calls c join ledger_entries e on e.id = c.charge_entry_id where c.call_id in ('sw-nostart-early', 'sw-nostart-late') order by c.call_id");
    expect(billed.rows.map((x) => [x.call_id, Number(x.amount)])).toEqual([
      ['sw-nostart-early', 0],
      ['sw-nostart-late', Math.ceil(((maxDurations[1]! + 60) * 56) / 60)],
    ]);
  });

  it('ends the hold of a call Vapi does not know, without a charge, and leaves live calls alone', async () => {
    const orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), assistantRequest(num, 'sw-ghost'));
    await simCall('sw-live', new Date());
    await postWebhook(ctx.app(), assistantRequest(num, 'sw-live'));
    await holdsRecorded(ctx.pool, ['sw-ghost']);
    await holdsRecorded(ctx.pool, ['sw-live']);
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

// Failure mode 29: calls the sweeper cannot finish (still live at Vapi, or an error) and reports
// whose billing job is still queued must not stop it from reaching the work behind them.
// CALL_SWEEP_BATCH_SIZE is 5 here so a handful of calls fills more than a page.
describe('call sweeper paging and backoff', () => {
  let ctx: TestContext;
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  beforeAll(async () => {
    sim = await startVapiCallSimulator();
    ctx = await createTestContext({ VAPI_API_BASE_URL: sim.url, CALL_HOLD_GRACE_SECONDS: '60', CALL_SWEEP_BATCH_SIZE: '5' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await ctx.close();
    await sim.close();
  });

  const later = () => new Date(Date.now() + 2 * 24 * 3600 * 1000);
  const callEntries = async (orgId: string) =>
    (await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call' order by id", [orgId])).rows.map((r) => Number(r.amount));
  const sweep = (now: Date) => sweepCalls(callSweepDeps(ctx.services), now);
  async function simCall(id: string, startedAt: Date) {
    const res = await fetch(`${sim.url}/sandbox/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id, startedAt: startedAt.toISOString() }) });
    expect(res.status).toBe(201);
  }
  async function simEnd(id: string, endedAt: Date) {
    const res = await fetch(`${sim.url}/sandbox/calls/${id}/end`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ endedAt: endedAt.toISOString() }) });
    expect(res.status).toBe(200);
  }
  /** Admits the calls through the webhook, one after the other, so their holds expire in this order. */
  async function admit(num: TestNumber, ids: string[], startedAt: Date) {
    for (const id of ids) {
      await simCall(id, startedAt);
      const res = await postWebhook(ctx.app(), assistantRequest(num, id));
      expect([id, res.body]).toMatchObject([id, { assistantId: num.assistantId }]);
      await holdsRecorded(ctx.pool, [id]);
    }
  }
  /** Ends the calls at Vapi and sweeps them away, so the next test starts with no open calls. */
  async function settleAll(ids: string[], now: Date) {
    for (const id of ids) await simEnd(id, new Date());
    for (let i = 0; i < 5; i++) {
      await sweep(new Date(now.getTime() + (i + 1) * 24 * 3600 * 1000));
      const open = await ctx.pool.query('select 1 from calls where call_id = any($1) and settled_at is null', [ids]);
      if (open.rowCount === 0) return;
    }
    throw new Error('calls left unsettled');
  }

  // One sweep is enough: within a run the sweeper walks pages (5 + 5 + 3 calls here, under its
  // page bound), so the lost-report call on the third page is settled in the same run.
  it('settles a call whose report was lost even when more stuck calls than a batch are older than it', async () => {
    // Enough for thirteen holds of the longest call (43 200 s × 56 ÷ 60 = 40 320 each).
    const orgId = await createFundedOrg(ctx.services, 1_000_000);
    const num = await registerNumber(ctx.services, orgId);
    const stuck = Array.from({ length: 12 }, (_, i) => `pg-stuck-${String(i).padStart(2, '0')}`);
    await admit(num, stuck, new Date());
    const start = new Date(Date.now() - 60_000);
    await admit(num, ['pg-lost'], start);
    await simEnd('pg-lost', new Date(start.getTime() + 30_000));
    // Every stuck call is ahead of the lost one in the sweeper's order.
    const ahead = await ctx.pool.query<{ n: number }>(
      "select count(*)::int as n from calls where call_id = any($1) and hold_expires_at < (select hold_expires_at from calls where call_id = 'pg-lost')",
      [stuck],
    );
    expect(ahead.rows[0]?.n).toBe(12);

    const now = later();
    expect(await sweep(now)).toEqual({ settled: 1, notFound: 0, stillLive: 12, reenqueued: 0, holdsReleased: 0, errors: 0 });
    expect(await callEntries(orgId)).toEqual([-28]); // ceil(30 × 56 ÷ 60)
    const open = await ctx.pool.query('select count(*)::int as n from calls where call_id = any($1) and settled_at is null', [stuck]);
    expect(open.rows[0]?.n).toBe(12);
    await settleAll(stuck, now);
  });

  it('re-enqueues a lost billing job even when more reports than a batch are older and still queued', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const report = (callId: string) =>
      ctx.services.calls.store.recordReport({
        callId, orgId, vapiPhoneNumberId: null, e164: null, startedAt: '2026-11-23T10:00:00.000Z',
        endedAt: '2026-11-23T10:01:00.000Z', durationSeconds: null, endedReason: 'customer-ended-call', source: 'webhook',
      });
    // Six reports whose billing jobs wait in the queue (no worker runs yet): nothing to redo.
    const queued = Array.from({ length: 6 }, (_, i) => `pg-queued-${i}`);
    for (const id of queued) {
      await report(id);
      await enqueueBilling(ctx.services.queues, id);
    }
    // A newer report whose job never reached the queue.
    await report('pg-unqueued');

    expect(await sweep(later())).toMatchObject({ reenqueued: 1, errors: 0 });
    const worker = startCallBillingWorker(ctx.services);
    try {
      await eventually(async () => ((await callEntries(orgId)).length === 7 ? true : undefined));
    } finally {
      await worker.close(5000);
    }
    expect(await callEntries(orgId)).toEqual(Array.from({ length: 7 }, () => -56));
  });
  it('looks at a call still live at Vapi again only after its backoff, which doubles each time, and settles it once it has ended', async () => {
    const orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    const start = new Date();
    await admit(num, ['pg-long'], start);
    const interval = ctx.config.sweep.intervalMs;
    const deferral = async () =>
      (await ctx.pool.query<{ at: Date; n: number }>('select next_sweep_at as at, sweep_deferrals as n from calls where call_id = $1', ['pg-long'])).rows[0];

    const t0 = later();
    expect(await sweep(t0)).toMatchObject({ stillLive: 1, settled: 0, errors: 0 });
    expect(await deferral()).toEqual({ at: new Date(t0.getTime() + interval), n: 1 });
    // Within its backoff the call is not asked about.
    expect(await sweep(new Date(t0.getTime() + interval - 1))).toMatchObject({ stillLive: 0, settled: 0 });
    const t1 = new Date(t0.getTime() + interval);
    expect(await sweep(t1)).toMatchObject({ stillLive: 1, settled: 0 });
    expect(await deferral()).toEqual({ at: new Date(t1.getTime() + 2 * interval), n: 2 });

    // The call ends and its report is lost: the first sweep after the doubled backoff settles it.
    await simEnd('pg-long', new Date(start.getTime() + 45_000));
    expect(await sweep(new Date(t1.getTime() + 2 * interval - 1))).toMatchObject({ settled: 0 });
    expect(await sweep(new Date(t1.getTime() + 2 * interval))).toEqual({ settled: 1, notFound: 0, stillLive: 0, reenqueued: 0, holdsReleased: 0, errors: 0 });
    expect(await callEntries(orgId)).toEqual([-42]); // ceil(45 × 56 ÷ 60)
  });

  it('defers a call whose Vapi lookup failed, and settles it after its backoff once Vapi answers', async () => {
    const orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    const start = new Date(Date.now() - 60_000);
    await admit(num, ['pg-error'], start);
    await simEnd('pg-error', new Date(start.getTime() + 20_000));
    // A port nothing listens on: every GET /call/{id} fails to connect.
    const unreachable = createVapiClient({ apiKey: 'test', apiBaseUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 });

    const t0 = later();
    expect(await sweepCalls({ ...callSweepDeps(ctx.services), vapiCalls: unreachable }, t0)).toEqual({ settled: 0, notFound: 0, stillLive: 0, reenqueued: 0, holdsReleased: 0, errors: 1 });
    expect(await sweep(new Date(t0.getTime() + ctx.config.sweep.intervalMs - 1))).toMatchObject({ settled: 0, errors: 0 });
    expect(await sweep(new Date(t0.getTime() + ctx.config.sweep.intervalMs))).toMatchObject({ settled: 1, errors: 0 });
    expect(await callEntries(orgId)).toEqual([-19]); // ceil(20 × 56 ÷ 60)
  });

  it('doubles the backoff from the sweep interval and stops it at CALL_SWEEP_BACKOFF_MAX_MS', () => {
    expect([0, 1, 2, 3, 4].map((n) => sweepBackoffMs(30_000, n))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000]);
    expect(sweepBackoffMs(30_000, 5)).toBe(CALL_SWEEP_BACKOFF_MAX_MS);
    expect(sweepBackoffMs(30_000, 1_000_000)).toBe(CALL_SWEEP_BACKOFF_MAX_MS);
  });

  it('pages through calls whose holds expire at the same microsecond without skipping or repeating one', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    const ids = Array.from({ length: 12 }, (_, i) => `pg-tie-${String(i).padStart(2, '0')}`);
    const expiresAtMs = Date.now() + 60_000;
    await ctx.services.calls.store.recordHolds(ids.map((call_id) => ({ call_id, org_id: orgId, amount: 0, max_duration_seconds: 60, expires_at_ms: expiresAtMs, admitted_at_ms: Date.now(), cap: 0, held_seconds: 60, slices: 1, policy: 'full' as const })));
    // Microseconds a JS Date cannot carry: a cursor rebuilt from one would restart the list.
    await ctx.pool.query("update calls set hold_expires_at = hold_expires_at + interval '123 microseconds' where call_id = any($1)", [ids]);

    const now = later();
    const seen: string[] = [];
    let after: SweepCursor | null = null;
    for (let page = 0; page < 10; page++) {
      const rows = await ctx.services.calls.store.callsDueForSweep(now, 60, 5, after);
      seen.push(...rows.map((r) => r.call_id));
      const last = rows.at(-1);
      if (rows.length < 5 || last === undefined) break;
      after = { at: last.hold_expires_at, callId: last.call_id };
    }
    expect(seen).toEqual(ids);
    // The simulator does not know these calls: the sweeper ends their holds.
    expect(await sweep(now)).toMatchObject({ notFound: 12, errors: 0 });
  });
});
