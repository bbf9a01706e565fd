// Proves issue 22, item 2 against real Redis (behind a TCP proxy the test stalls), real Postgres
// and the Vapi simulator's live-call-control endpoint: the terms Vapi was given are the terms
// held, whichever store answered. Redis's cached balance is lower than Postgres's (1000 against
// 50,000) and Redis stalls past CALL_GATE_REDIS_TIMEOUT_MS: the gate answers from Postgres,
// granting 43,200 s, and the stalled call_gate_decide then lands and writes an entry planned on
// Redis's 888 available: 946 s, capped at 883. Before, that entry won (the copy of the Postgres
// hold was an HSETNX): renewals stopped as `capped` at 946 s, nothing told Vapi to end the call,
// and once the entry expired the call was not counted at all. Now the entry takes the granted
// terms, and the meter ends a call by what Vapi was granted: when its money runs out, or at a cap
// below it, with the spoken sentence and then end-call.
import { RUN_OUT_SENTENCE } from '../../shared/calls/call-meter';
import { parseDueMember } from '../../shared/calls/meter-due';
import { callCharge, VAPI_MAX_DURATION_SECONDS } from '../../shared/pricing';
import { jobIds, type CallMeterJob } from '../../shared/queues/queues';
import { NO_SPEND_CONTROLS } from '../../shared/wallet/wallet-controls';
import { meterSweepDeps, sweepMeters } from '../../workers/meter-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { TEST_REDIS_URL } from '../support/redis';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { assistantRequest, gateCount, postWebhook, registerNumber, startVapiCallSimulator, type TestNumber } from '../support/vapi';
import { eventually } from '../support/eventually';

jest.setTimeout(60_000);

describe('a Postgres-path admission while Redis stalls', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  beforeAll(async () => {
    const target = new URL(TEST_REDIS_URL);
    proxy = await createTcpProxy(target.hostname, Number(target.port || 6379));
    // Timeouts wider than the defaults (150 ms, 2 s) so that only the stall, not a busy machine,
    // decides which store answers.
    ctx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, CALL_GATE_REDIS_TIMEOUT_MS: '500', CALL_GATE_DATABASE_TIMEOUT_MS: '4000' });
    sim = await startVapiCallSimulator();
  });
  afterEach(async () => {
    await proxy.up();
    await expectLedgerConsistent(ctx.pool);
  });
  afterAll(async () => {
    await proxy.up();
    await sim.close();
    await ctx.close();
    await proxy.down();
  });

  const RATE = 56;
  const entry = async (orgId: string, id: string) => {
    const v = await ctx.services.redis.hget(ctx.services.keys.holds(orgId), id);
    if (v === null) return undefined;
    const [state, amount, maxd, expires, admitted, cap, slices] = v.split('|');
    return { state, amount: Number(amount), maxd: Number(maxd), expires: Number(expires), admitted: Number(admitted), cap: Number(cap), slices: Number(slices) };
  };
  const recorded = (id: string) => eventually(async () => ((await ctx.pool.query('select 1 from calls where call_id = $1', [id])).rowCount === 1 ? true : undefined));

  /** A wallet of 50,000 in Postgres whose cached copy in Redis says 1000, with one call (112) live on both. */
  async function brownedOutWallet(): Promise<{ orgId: string; num: TestNumber }> {
    const orgId = await createFundedOrg(ctx.services, 50_000);
    const num = await registerNumber(ctx.services, orgId);
    // A call on the Redis path: the number is now in process memory, the wallet in Redis.
    expect((await postWebhook(ctx.app(), assistantRequest(num, `warm-${orgId}`))).body.assistantId).toBe(num.assistantId);
    await recorded(`warm-${orgId}`);
    // Redis's copy of the balance is lower than Postgres's (as after a credit whose write-through
    // is still being repaired): 1000 − 112 held = 888 available there.
    await ctx.services.cache.put(orgId, { balance: 1000, version: 1_000_000, currency: 'gbp', controls: NO_SPEND_CONTROLS });
    return { orgId, num };
  }

  /** The call's control URL on the Vapi simulator, learned as Vapi tells it (status-update in-progress). */
  async function liveAtVapi(num: TestNumber, id: string): Promise<void> {
    const created = await fetch(`${sim.url}/sandbox/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id }) });
    const controlUrl = ((await created.json()) as { monitor: { controlUrl: string } }).monitor.controlUrl;
    const inProgress = { message: { type: 'status-update', status: 'in-progress', call: { id, phoneNumberId: num.vapiPhoneNumberId, monitor: { controlUrl } } } };
    expect((await postWebhook(ctx.app(), inProgress)).status).toBe(200);
  }

  /** What the simulator's control URL of the call received, in order. */
  const controlMessages = async (id: string) =>
    ((await (await fetch(`${sim.url}/sandbox/calls/${id}/control`)).json()) as { messages: Array<{ message: Record<string, unknown> }> }).messages.map((m) => m.message);

  /** Runs the meter's renewals of a call from `job` (as the worker would) until one is not granted. */
  async function renewUntilRefused(job: CallMeterJob): Promise<{ outcome: string; renewed: number }> {
    let renewed = 0;
    for (;;) {
      const r = await ctx.services.calls.meters.step(job);
      if (typeof r === 'string' || r.outcome !== 'renewed') return { outcome: typeof r === 'string' ? r : r.outcome, renewed };
      renewed++;
      const nextId = jobIds.meter(job.callId, job.slice + 1);
      job = (await eventually(async () => (await ctx.services.queues.callMeters.getJob(nextId)) ?? undefined)).data;
    }
  }

  /** The hang-up that follows the spoken sentence, run now rather than when the held seconds are used up. */
  async function hangUp(id: string): Promise<unknown> {
    const job = await eventually(async () => (await ctx.services.queues.callMeters.getJob(jobIds.hangup(id))) ?? undefined);
    return ctx.services.calls.meters.step(job.data);
  }

  it("leaves Redis holding exactly the terms Vapi was given from Postgres, not the late decide's own, and ends the call when its money runs out", async () => {
    const { orgId, num } = await brownedOutWallet();
    const fallbacksBefore = await gateCount(ctx.services, 'allowed', 'database_fallback');
    const adopted = async () => (await ctx.services.metrics.callHoldRepairs.get()).values.find((v) => v.labels.repair === 'terms_adopted' && v.labels.by === 'gate')?.value ?? 0;
    const adoptedBefore = await adopted();

    proxy.stall();
    const answer = await postWebhook(ctx.app(), assistantRequest(num, 'browned'));
    // Decided by Postgres on its 49,888 available: Vapi's upper bound.
    expect(answer.body.assistantId).toBe(num.assistantId);
    expect(answer.body.assistantOverrides.maxDurationSeconds).toBe(VAPI_MAX_DURATION_SECONDS);
    expect(await gateCount(ctx.services, 'allowed', 'database_fallback')).toBe(fallbacksBefore + 1);
    // Redis runs what it was sent, in order: the stalled decide (946 s, cap 883), then the adoption.
    await proxy.up();

    const granted = await ctx.services.calls.store.meter('browned');
    if (granted.outcome !== 'found') throw new Error('the Postgres hold is missing');
    await eventually(async () => ((await adopted()) > adoptedBefore ? true : undefined), { timeoutMs: 5000 }).catch(() => undefined);
    expect(await entry(orgId, 'browned')).toEqual({
      state: 'h',
      amount: granted.hold.amount,
      maxd: answer.body.assistantOverrides.maxDurationSeconds,
      expires: granted.hold.expires_at_ms,
      admitted: granted.hold.admitted_at_ms,
      cap: callCharge(ctx.config.pricing, VAPI_MAX_DURATION_SECONDS),
      slices: 1,
    });
    expect(granted.hold).toMatchObject({ max_duration_seconds: VAPI_MAX_DURATION_SECONDS, cap: callCharge(ctx.config.pricing, VAPI_MAX_DURATION_SECONDS) });
    // The late entry was written, and replaced (counted as a repair).
    expect(await adopted()).toBe(adoptedBefore + 1);
    // Redis counts the call at the granted amount, and the late decide's first renewal (on its own
    // terms) is gone from the due set; the meter runs on the granted terms.
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112 + granted.hold.amount);
    const due = (await ctx.services.redis.zrange(ctx.services.keys.meterDue(orgId), 0, -1)).map(parseDueMember).filter((j) => j?.callId === 'browned');
    expect(due).toEqual([]);
    const first = await eventually(async () => (await ctx.services.queues.callMeters.getJob(jobIds.meter('browned', 2))) ?? undefined);
    expect(first.data).toMatchObject({ maxDurationSeconds: VAPI_MAX_DURATION_SECONDS, cap: callCharge(ctx.config.pricing, VAPI_MAX_DURATION_SECONDS) });

    // The call goes on; the renewals run on Redis's 1000 until they cannot be covered: 888 − 112
    // paid six more slices of 112, and the seventh finds 104.
    await liveAtVapi(num, 'browned');
    expect(await renewUntilRefused(first.data)).toEqual({ outcome: 'exhausted', renewed: 6 });
    expect(await hangUp('browned')).toBe('ended');
    expect(await controlMessages('browned')).toEqual([{ type: 'say', content: RUN_OUT_SENTENCE, endCallAfterSpoken: true }, { type: 'end-call' }]);
  });

  it("the meter sweep's copy gives a late Redis entry the terms Postgres granted when the adoption after the answer never ran", async () => {
    const { orgId } = await brownedOutWallet();
    const terms = { ratePerMinute: RATE, minBalance: ctx.config.pricing.callMinBalance, safetyMarginSeconds: 5, holdGraceSeconds: ctx.config.callGate.holdGraceSeconds, policy: 'metered' as const, holdSeconds: 120 };
    // Postgres admitted the call (its answer: 43,200 s); the stalled decide landed; the adoption was lost.
    const pg = await ctx.services.calls.store.admit({ orgId, callId: 'unadopted', nowMs: Date.now(), ...terms, minDurationSeconds: 10, maxDurationSeconds: VAPI_MAX_DURATION_SECONDS });
    if (pg.outcome !== 'held') throw new Error(`not admitted: ${pg.outcome}`);
    expect(pg.max_duration_seconds).toBe(VAPI_MAX_DURATION_SECONDS);
    expect(await ctx.services.calls.hot.decide(orgId, 'unadopted', terms)).toMatchObject({ outcome: 'held', max_duration_seconds: 946, cap: 883 });

    await sweepMeters(meterSweepDeps(ctx.services));
    expect(await entry(orgId, 'unadopted')).toEqual({
      state: 'h',
      amount: pg.hold.amount,
      maxd: VAPI_MAX_DURATION_SECONDS,
      expires: pg.hold.expires_at_ms,
      admitted: pg.hold.admitted_at_ms,
      cap: pg.hold.cap,
      slices: 1,
    });
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112 + pg.hold.amount);
    // A second pass finds the granted terms and changes nothing.
    await sweepMeters(meterSweepDeps(ctx.services));
    expect((await entry(orgId, 'unadopted'))?.maxd).toBe(VAPI_MAX_DURATION_SECONDS);
  });

  it('ends a call whose Redis hold is capped below the maxDurationSeconds Vapi was given: spoken sentence at the cap, then end-call, never renewals that just stop', async () => {
    const { orgId, num } = await brownedOutWallet();
    // The entry a late decide leaves when its adoption never ran (Redis gone again right after):
    // planned on Redis's 888 available, 946 s and a cap of 883, while Vapi was granted 43,200 s
    // and the meter started from Postgres's hold with those terms.
    const planned = await ctx.services.calls.hot.decide(
      orgId,
      'capped-below',
      { ratePerMinute: RATE, minBalance: ctx.config.pricing.callMinBalance, safetyMarginSeconds: 5, holdGraceSeconds: ctx.config.callGate.holdGraceSeconds, policy: 'metered', holdSeconds: 120 },
    );
    expect(planned).toMatchObject({ outcome: 'held', max_duration_seconds: 946, cap: 883, hold_amount: 112 });
    const late = await entry(orgId, 'capped-below');
    const job: CallMeterJob = {
      kind: 'renew',
      orgId,
      callId: 'capped-below',
      slice: 2,
      admittedAtMs: late!.admitted,
      maxDurationSeconds: VAPI_MAX_DURATION_SECONDS,
      expiresAtMs: late!.admitted + (VAPI_MAX_DURATION_SECONDS + ctx.config.callGate.holdGraceSeconds) * 1000,
      cap: callCharge(ctx.config.pricing, VAPI_MAX_DURATION_SECONDS),
      dueAtMs: Date.now(),
    };
    await liveAtVapi(num, 'capped-below');
    const repairsBefore = (await ctx.services.metrics.callHoldRepairs.get()).values.find((v) => v.labels.repair === 'ended_at_cap')?.value ?? 0;

    // 112 + six slices of 112 + 99 reach the cap of 883; the next renewal answers `capped` with
    // 946 s held, far short of 43,200: the call is told, then hung up when the 946 s are used.
    expect(await renewUntilRefused(job)).toEqual({ outcome: 'capped', renewed: 7 });
    expect(await entry(orgId, 'capped-below')).toMatchObject({ amount: 883, cap: 883 });
    expect(await controlMessages('capped-below')).toEqual([{ type: 'say', content: RUN_OUT_SENTENCE, endCallAfterSpoken: true }]);
    const hangup = await ctx.services.queues.callMeters.getJob(jobIds.hangup('capped-below'));
    expect(hangup?.data.dueAtMs).toBe(late!.admitted + 946 * 1000);
    expect(await hangUp('capped-below')).toBe('ended');
    expect(await controlMessages('capped-below')).toEqual([{ type: 'say', content: RUN_OUT_SENTENCE, endCallAfterSpoken: true }, { type: 'end-call' }]);
    expect((await ctx.services.metrics.callHoldRepairs.get()).values.find((v) => v.labels.repair === 'ended_at_cap')?.value).toBe(repairsBefore + 1);
  });
});
