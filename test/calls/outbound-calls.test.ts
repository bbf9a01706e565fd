// Proves outbound calls (CONTRACT §10; failure modes 41 and 43) through the real app, real
// Postgres and Redis, and the project's Vapi simulator over real HTTP: POST /api/calls is gated
// by the same admission as an inbound call (hold, maxDurationSeconds, refusals with nothing held
// and no Vapi call made — counted in the simulator's own GET /call listing), a replayed key never
// places a second call, rates by destination (connect fee, minimum, increments) are charged from
// the call's own report sent by the simulator, blocked prefixes and dialing permissions refuse,
// ten concurrent calls never hold more than the balance, and a lost Vapi answer keeps the hold
// until the sweeper finds the call, which is then billed once.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { listenLocal, type Listening } from '../../sandbox/listen';
import { billCall } from '../../shared/calls/call-billing';
import { admitTermsOf } from '../../shared/calls/call-store';
import { HangupPendingError } from '../../shared/calls/call-meter';
import { planHold } from '../../shared/calls/hold-policy';
import { OUTBOUND_GIVE_UP_MS } from '../../shared/calls/outbound-calls';
import type { CallMeterJob } from '../../shared/queues/queues';
import { sweepCalls, callSweepDeps } from '../../workers/call-sweeper';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { expectConforms } from '../support/openapi';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber, startVapiCallSimulator } from '../support/vapi';
import type { WebhookTarget } from '../../sandbox/vapi-webhooks';

jest.setTimeout(120_000);

const RATES = [
  { prefix: '+63', ratePerMinute: 5000, connectFee: 10, minimumSeconds: 30, incrementSeconds: 6 },
  { prefix: '+44', ratePerMinute: 56 },
  { prefix: '+4490', ratePerMinute: 900, blocked: true },
  { prefix: '+1415', ratePerMinute: 600 },
];
// libphonenumber's own example numbers (valid in its metadata): GB mobile, PH mobile, GB premium rate.
const GB = '+447400123456';
const PH = '+639051234567';
const GB_PREMIUM = '+449012345678';

describe('outbound calls through the gate', () => {
  let ctx: TestContext;
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  let server: Listening;
  let target: WebhookTarget | undefined;

  beforeAll(async () => {
    sim = await startVapiCallSimulator({ outboundServer: () => target });
    ctx = await createTestContext({ VAPI_API_BASE_URL: sim.url, VAPI_API_TIMEOUT_MS: '1500' });
    server = await listenLocal(ctx.app());
    target = { url: `${server.url}/api/vapi/webhook`, secret: TEST_VAPI_SECRET };
    const put = expectConforms('put', '/api/admin/rates', await request(ctx.app()).put('/api/admin/rates').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ rates: RATES }));
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await sim.close();
    await server.close();
    await ctx.close();
  });
  afterEach(async () => {
    await fetch(`${sim.url}/sandbox/faults/outbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ answerDelayMs: 0, failAfterCreate: 0, refuseNext: 0 }) });
  });

  async function orgWithNumber(balance: number) {
    const orgId = await createFundedOrg(ctx.services, balance);
    const num = await registerNumber(ctx.services, orgId);
    return { orgId, num, token: await dashboardToken(TEST_JWT_SECRET, orgId) };
  }
  /** POST /api/calls; every answer is checked against the OpenAPI document. */
  const place = async (o: { token: string; num: { vapiPhoneNumberId: string; assistantId: string } }, number: string, key = randomUUID()) =>
    expectConforms(
      'post',
      '/api/calls',
      await request(ctx.app())
        .post('/api/calls')
        .set('Authorization', `Bearer ${o.token}`)
        .set('Idempotency-Key', key)
        .send({ assistantId: o.num.assistantId, phoneNumberId: o.num.vapiPhoneNumberId, customer: { number }, metadata: { campaign: 'c1' } }),
    );
  /** The outbound calls the simulator has made from this number (its own Vapi listing). */
  const vapiCalls = async (vapiPhoneNumberId: string) => {
    const res = await fetch(`${sim.url}/call?phoneNumberId=${encodeURIComponent(vapiPhoneNumberId)}&limit=1000`, { headers: { authorization: 'Bearer k' } });
    return ((await res.json()) as Array<{ id: string; type: string; startedAt: string; assistantOverrides: { maxDurationSeconds: number; metadata: Record<string, unknown> } }>).filter((c) => c.type === 'outboundPhoneCall');
  };
  const endAt = (vapiCallId: string, endedAt: string) =>
    fetch(`${sim.url}/sandbox/calls/${vapiCallId}/end`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endedAt }) });
  /** POST /api/calls whose Vapi answer comes after the client's timeout (the call exists): 202 placing. */
  const placeAnswerLost = async (o: Awaited<ReturnType<typeof orgWithNumber>>, key: ReturnType<typeof randomUUID>) => {
    await fetch(`${sim.url}/sandbox/faults/outbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ answerDelayMs: 4000 }) });
    const res = await place(o, GB, key);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'placing' });
    return res;
  };
  /** Ends the Vapi call 30 s after it started; its report (the simulator's webhook) is then billed. */
  const endAfter30sAndBill = async (callId: string, vapiCall: { id: string; startedAt: string | null }) => {
    await endAt(vapiCall.id, new Date(Date.parse(vapiCall.startedAt ?? '') + 30_000).toISOString());
    await reportArrived(callId);
    await billCall(ctx.services.calls.billing, callId, 'report');
  };
  const chargeOf = async (callId: string) => {
    const r = await ctx.pool.query<{ amount: string }>(`select amount from ledger_entries where idempotency_key = 'call:' || $1`, [callId]);
    return r.rows.map((x) => -Number(x.amount));
  };
  const reportArrived = (callId: string) =>
    eventually(async () => (await ctx.pool.query(`select 1 from call_reports where call_id = $1`, [callId])).rowCount === 1, { what: `the report of ${callId}` });
  /** The call's item in GET /api/calls (the calls list, CONTRACT §12), checked against the OpenAPI document. */
  const listed = async (token: string, callId: string) => {
    const res = expectConforms('get', '/api/calls', await request(ctx.app()).get('/api/calls').set('Authorization', `Bearer ${token}`));
    expect(res.status).toBe(200);
    return (res.body.items as Array<{ callId: string }>).find((c) => c.callId === callId);
  };

  it('admits a wallet of 1000 at 56/min with the maxDurationSeconds an inbound call would get, and tells Vapi that and the orgId', async () => {
    const o = await orgWithNumber(1000);
    const res = await place(o, GB);
    expect(res.status).toBe(201);
    const expected = planHold(ctx.config.pricing, ctx.config.callGate.safetyMarginSeconds, 1000, { kind: 'metered', holdSeconds: ctx.config.callGate.holdSeconds });
    expect(res.body).toMatchObject({ maxDurationSeconds: expected?.maxDurationSeconds, rate: { prefix: '+44', ratePerMinute: 56, connectFee: 0 }, currency: 'gbp' });
    expect(res.body.maxDurationSeconds).toBe(1066);
    // An inbound call on the same wallet's number under +44 would be granted the same.
    const inboundOrg = await createFundedOrg(ctx.services, 1000);
    const inbound = { vapiPhoneNumberId: `pn-${randomUUID()}`, e164: `+4420${String(Date.now()).slice(-7)}`, assistantId: 'asst-in' };
    await ctx.services.store.registerPhoneNumber({ orgId: inboundOrg, ...inbound });
    expect((await postWebhook(ctx.app(), assistantRequest(inbound))).body.assistantOverrides.maxDurationSeconds).toBe(res.body.maxDurationSeconds);

    const made = await vapiCalls(o.num.vapiPhoneNumberId);
    expect(made).toHaveLength(1);
    expect(made[0]?.id).toBe(res.body.vapiCallId);
    expect(made[0]?.assistantOverrides).toMatchObject({ maxDurationSeconds: 1066, metadata: { orgId: o.orgId, billingCallId: res.body.callId, campaign: 'c1' } });
    // Held in both stores, as a Postgres-path admission is.
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(112);
    await eventually(async () => (await ctx.services.calls.hot.held(o.orgId)) === 112, { what: 'the Redis hold of 112' });
  });

  it('refuses a wallet below the minimum with 402 and the shortfall, holding nothing and making no Vapi call', async () => {
    const o = await orgWithNumber(50);
    const res = await place(o, GB);
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ error: 'insufficient_funds', balance: 50, available: 50, required: 79, shortfall: 29, currency: 'gbp' });
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(0);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(0);
  });

  it('answers a replayed key with the first answer and places one Vapi call', async () => {
    const o = await orgWithNumber(1000);
    const key = randomUUID();
    const first = await place(o, GB, key);
    const again = await place(o, GB, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(1);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(112);
    // The same key with another body is a different request.
    expect((await place(o, PH, key)).status).toBe(409);
  });

  it('charges a 45 s call to +63 at 5000/min, connect fee 10, minimum 30 s, increments of 6 s: 10 + ceil(48 × 5000 ÷ 60) = 4010', async () => {
    const o = await orgWithNumber(100_000);
    const res = await place(o, PH);
    expect(res.status).toBe(201);
    expect(res.body.rate).toEqual({ prefix: '+63', ratePerMinute: 5000, connectFee: 10 });
    // What 100,000 pays for at this rate, in whole increments, less the margin.
    expect(res.body.maxDurationSeconds).toBe(Math.floor(Math.floor(((100_000 - 10) * 60) / 5000) / 6) * 6 - 5);
    // The calls list shows it as outbound, to its destination, at its own rate before it is billed.
    expect(await listed(o.token, res.body.callId)).toMatchObject({ direction: 'outbound', to: PH, ratePerMinute: 5000, status: 'in_progress', amount: null });
    const [call] = await vapiCalls(o.num.vapiPhoneNumberId);
    expect((await endAt(res.body.vapiCallId, new Date(Date.parse(call!.startedAt) + 45_000).toISOString())).status).toBe(200);
    await reportArrived(res.body.callId);
    await billCall(ctx.services.calls.billing, res.body.callId, 'report');
    expect(await chargeOf(res.body.callId)).toEqual([4010]);
    // …and after: the rate and seconds the charge used (call_settle_core records them).
    expect(await listed(o.token, res.body.callId)).toMatchObject({ direction: 'outbound', to: PH, ratePerMinute: 5000, seconds: 45, amount: -4010, status: 'billed' });
    expect(Number((await ctx.pool.query<{ balance: string }>('select balance from wallets where org_id = $1', [o.orgId])).rows[0]?.balance)).toBe(100_000 - 4010);
    await expectLedgerConsistent(ctx.pool);
  });

  it('charges a +44 call as before: ceil(seconds × 56 ÷ 60)', async () => {
    const o = await orgWithNumber(1000);
    const res = await place(o, GB);
    const [call] = await vapiCalls(o.num.vapiPhoneNumberId);
    await endAt(res.body.vapiCallId, new Date(Date.parse(call!.startedAt) + 45_000).toISOString());
    await reportArrived(res.body.callId);
    await billCall(ctx.services.calls.billing, res.body.callId, 'report');
    expect(await chargeOf(res.body.callId)).toEqual([42]);
  });

  it('refuses a blocked prefix with 403 destination_not_allowed, holding nothing and making no Vapi call', async () => {
    const o = await orgWithNumber(1000);
    const res = await place(o, GB_PREMIUM);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'destination_not_allowed', destination: GB_PREMIUM, reason: 'blocked' });
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(0);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(0);
  });

  it('charges an inbound call to a number under a pricier prefix at that prefix rate, fixed at admission', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const num = await registerNumber(ctx.services, orgId); // +1415…: 600/min
    const callId = `in-${randomUUID()}`;
    const answer = (await postWebhook(ctx.app(), assistantRequest(num, callId))).body;
    expect(answer.assistantOverrides.maxDurationSeconds).toBe(Math.floor((10_000 * 60) / 600) - 5);
    // The Redis-path admission's record (with its rate) reaches Postgres within its batch window.
    await eventually(async () => (await ctx.pool.query(`select 1 from calls where call_id = $1 and rate_per_minute = 600`, [callId])).rowCount === 1, {
      what: 'the calls row at 600/min',
    });
    await postWebhook(ctx.app(), endOfCallReport(callId, { orgId, seconds: 60, num }));
    await billCall(ctx.services.calls.billing, callId, 'report');
    expect(await chargeOf(callId)).toEqual([600]);
    expect(await listed(await dashboardToken(TEST_JWT_SECRET, orgId), callId)).toMatchObject({ direction: 'inbound', to: num.e164, ratePerMinute: 600, seconds: 60, amount: -600, status: 'billed' });
    const rate = expectConforms('get', '/api/rates', await request(ctx.app()).get(`/api/rates?number=${encodeURIComponent(num.e164)}`).set('Authorization', `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}`));
    expect(rate.body).toMatchObject({ prefix: '+1415', ratePerMinute: 600, connectFee: 0, minimumSeconds: 0, incrementSeconds: 1, blocked: false });
  });

  it('charges a call with no record of its admission (fail-open, or a hold record lost) at its number\'s prefix rate, not the default, and lists it', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const num = await registerNumber(ctx.services, orgId); // +1415…: 600/min
    const callId = `unrecorded-${randomUUID()}`;
    // The report of an inbound call the gate never recorded (no calls row), found by its number.
    await postWebhook(ctx.app(), endOfCallReport(callId, { orgId, seconds: 60, num }));
    expect((await ctx.pool.query('select 1 from calls where call_id = $1', [callId])).rowCount).toBe(0);
    // Five billings of it at once (the report's job, its retries, the sweeper): charged once.
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => billCall(ctx.services.calls.billing, callId, 'report')));
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['already_billed', 'already_billed', 'already_billed', 'already_billed', 'charged']);
    // 60 s at 600/min: 600. The default rate (56/min) would have charged 56.
    expect(await chargeOf(callId)).toEqual([600]);
    // What the usage reads: the seconds and the rate the charge used.
    const billed = await ctx.pool.query('select billed_seconds::float8 as seconds, billed_rate_per_minute::int as rate from call_reports where call_id = $1', [callId]);
    expect(billed.rows).toEqual([{ seconds: 60, rate: 600 }]);
    // Charged, so listed: the calls list has it beside the calls that passed the gate.
    expect(await listed(await dashboardToken(TEST_JWT_SECRET, orgId), callId)).toMatchObject({ direction: 'inbound', to: num.e164, ratePerMinute: 600, seconds: 60, amount: -600, status: 'billed' });
    await expectLedgerConsistent(ctx.pool);
  });

  it('never holds more than the balance for ten concurrent calls on one wallet', async () => {
    const o = await orgWithNumber(1000);
    const answers = await Promise.all(Array.from({ length: 10 }, () => place(o, GB)));
    const placed = answers.filter((a) => a.status === 201);
    expect(answers.every((a) => a.status === 201 || a.status === 402)).toBe(true);
    // Eight slices of 112 and a ninth of 99 fit in 1000; the tenth is refused.
    expect(placed).toHaveLength(9);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBeLessThanOrEqual(1000);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(9);
  });

  it('keeps the hold of a call whose Vapi answer was lost, never places it twice, and bills it once after the sweeper finds it', async () => {
    const o = await orgWithNumber(1000);
    const key = randomUUID();
    const first = await placeAnswerLost(o, key);
    const again = await place(o, GB, key);
    expect(again.status).toBe(202);
    expect(again.body.callId).toBe(first.body.callId);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(1);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(112);

    const swept = await ctx.services.outbound.sweepPlacing(new Date(Date.now() + 60_000));
    expect(swept).toMatchObject({ placed: 1, notPlaced: 0 });
    const [made] = await vapiCalls(o.num.vapiPhoneNumberId);
    const known = await place(o, GB, key);
    expect(known.status).toBe(201);
    expect(known.body).toMatchObject({ callId: first.body.callId, vapiCallId: made!.id, maxDurationSeconds: 1066 });

    await endAfter30sAndBill(first.body.callId, made!);
    await billCall(ctx.services.calls.billing, first.body.callId, 'report');
    await sweepCalls(callSweepDeps(ctx.services), new Date(Date.now() + 86_400_000));
    expect(await chargeOf(first.body.callId)).toEqual([28]);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(1);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(0);
    await expectLedgerConsistent(ctx.pool);
  });

  it('finds a lost-answer call behind more than 1000 newer calls of its number, bills it once, and reads no further page than it needs', async () => {
    // A campaign dialer places about a call a second: more than 1000 calls of one number in the
    // sweep's 20-minute window. Vapi lists at most 1000 a page, newest first, so the sweep that
    // read one page never saw this call and, ten minutes after admission, gave it up though Vapi
    // had placed it: outbound_call_failed settled its calls row `not_found`, released its hold in
    // both stores (the meter then stops renewing: a settled call is never renewed nor hung up on
    // running out, so it ran to its maxDurationSeconds with nothing held) and recorded 502
    // call_not_placed "nothing was charged" under its key. Its report, keyed by our id
    // (billingCallId), was still recorded and call_settle charged it (a report is billed whatever
    // the row's state), even below zero; but a lost report was never billed at all: the call
    // sweeper skips settled calls and failed outbound ones, so that call was free.
    const o = await orgWithNumber(1000);
    const key = randomUUID();
    const first = await placeAnswerLost(o, key);
    const ours = sim.calls.all().find((c) => (c.assistantOverrides?.metadata as Record<string, unknown> | undefined)?.billingCallId === first.body.callId);
    expect(ours).toBeDefined();
    const at = Date.parse(ours!.createdAt);
    // 1200 calls after it (so it is not on the newest 1000) and 1500 before it, 100 ms apart, all
    // inside the sweep's window: three pages, ours on the second.
    const seed = (createdAt: number, count: number, stepMs: number) =>
      fetch(`${sim.url}/sandbox/calls/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phoneNumberId: o.num.vapiPhoneNumberId, count, createdAt: new Date(createdAt).toISOString(), stepMs }),
      });
    expect((await seed(at + 100, 1200, 100)).status).toBe(201);
    expect((await seed(at - 100, 1500, -100)).status).toBe(201);

    sim.listings.length = 0;
    const swept = await ctx.services.outbound.sweepPlacing(new Date(Date.now() + OUTBOUND_GIVE_UP_MS + 60_000));
    expect(swept).toMatchObject({ placed: 1, notPlaced: 0, errors: 0 });
    // Two pages read, not three; the window (createdAtGe, and createdAtLe only narrowed) on each.
    const pages = sim.listings.filter((q) => q.get('phoneNumberId') === o.num.vapiPhoneNumberId);
    expect(pages).toHaveLength(2);
    const [one, two] = pages.map((q) => ({ ge: q.get('createdAtGe'), le: Date.parse(q.get('createdAtLe') ?? '') }));
    expect(two?.ge).toBe(one?.ge);
    expect(two?.le).toBeLessThan(one?.le ?? 0);
    expect(two?.le).toBeGreaterThan(at);

    const known = await place(o, GB, key);
    expect(known.status).toBe(201);
    expect(known.body).toMatchObject({ callId: first.body.callId, vapiCallId: ours!.id, maxDurationSeconds: 1066 });
    await endAfter30sAndBill(first.body.callId, ours!);
    expect(await chargeOf(first.body.callId)).toEqual([28]);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(0);
    await expectLedgerConsistent(ctx.pool);
  });

  it('keeps the hold of a lost-answer call while Vapi\'s listing fails, counts it for the alert, and finds the call once Vapi answers', async () => {
    const o = await orgWithNumber(1000);
    const key = randomUUID();
    const first = await placeAnswerLost(o, key);
    const held = await ctx.services.calls.store.holdsTotal(o.orgId);
    expect(held).toBeGreaterThan(0);
    const lookupFailed = async () => (await ctx.services.metrics.outboundPlacements.get()).values.find((v) => v.labels.outcome === 'lookup_failed')?.value ?? 0;
    const before = await lookupFailed();
    // Past the give-up time, with Vapi's API answering 503: never given up on an error.
    const late = Date.now() + OUTBOUND_GIVE_UP_MS + 60_000;
    const outage = await fetch(`${sim.url}/sandbox/outage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seconds: 60, status: 503 }) });
    expect(outage.status).toBe(200);
    try {
      expect(await ctx.services.outbound.sweepPlacing(new Date(late))).toMatchObject({ placed: 0, notPlaced: 0, errors: 1 });
    } finally {
      await fetch(`${sim.url}/sandbox/outage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seconds: 0 }) });
    }
    expect((await lookupFailed()) - before).toBe(1);
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(held);
    // Looked at again after OUTBOUND_LOOK_AFTER_MS: Vapi answers, the call is found and placed.
    expect(await ctx.services.outbound.sweepPlacing(new Date(late + 31_000))).toMatchObject({ placed: 1, notPlaced: 0, errors: 0 });
    const known = await place(o, GB, key);
    expect(known.status).toBe(201);
    expect(known.body.callId).toBe(first.body.callId);
  });

  it('treats a 5xx after Vapi created the call as a lost answer: held, one call, found by the sweeper', async () => {
    const o = await orgWithNumber(1000);
    await fetch(`${sim.url}/sandbox/faults/outbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ failAfterCreate: 1 }) });
    const key = randomUUID();
    expect((await place(o, GB, key)).status).toBe(202);
    expect((await place(o, GB, key)).status).toBe(202);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(1);
    expect((await ctx.services.outbound.sweepPlacing(new Date(Date.now() + 60_000))).placed).toBe(1);
    expect((await place(o, GB, key)).status).toBe(201);
  });

  it('releases the hold of a call Vapi refused (4xx): 502 call_not_placed, nothing charged, the key keeps that answer', async () => {
    const o = await orgWithNumber(1000);
    await fetch(`${sim.url}/sandbox/faults/outbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refuseNext: 1 }) });
    const key = randomUUID();
    const res = await place(o, GB, key);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: 'call_not_placed', callId: expect.any(String) });
    expect(await ctx.services.calls.store.holdsTotal(o.orgId)).toBe(0);
    await eventually(async () => (await ctx.services.calls.hot.held(o.orgId)) === 0, { what: 'the Redis hold released' });
    expect((await place(o, GB, key)).status).toBe(502);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(0);
  });

  it('refuses destinations outside the allowed countries (403 country) and calls beyond callsPerSecond (429)', async () => {
    const o = await orgWithNumber(10_000);
    const admin = async (body: object) =>
      expectConforms('put', '/api/admin/orgs/{orgId}/dialing', await request(ctx.app()).put(`/api/admin/orgs/${o.orgId}/dialing`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send(body));
    expect((await admin({ allowedCountries: ['GB'] })).body).toEqual({ orgId: o.orgId, allowedCountries: ['GB'], callsPerSecond: null });
    const ph = await place(o, PH);
    expect(ph.status).toBe(403);
    expect(ph.body).toMatchObject({ error: 'destination_not_allowed', destination: PH, reason: 'country' });
    expect((await admin({ allowedCountries: null, callsPerSecond: 1 })).status).toBe(200);
    const [a, b] = await Promise.all([place(o, GB), place(o, GB)]);
    expect([a.status, b.status].sort()).toEqual([201, 429]);
    expect((a.status === 429 ? a : b).body).toMatchObject({ error: 'calls_per_second', limit: 1 });
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(1);
    expect((await admin({ allowedCountries: ['gb'] })).status).toBe(400);
  });

  it('counts an admission toward callsPerSecond even when the next one read the clock before it (clock reads out of order)', async () => {
    // Two concurrent requests read the clock, then queue for the wallet lock: the one that read
    // it later can win the lock. Its admission, stamped with its own clock, must still count for
    // the other, or both pass a limit of one (seen in CI as 201, 201).
    const o = await orgWithNumber(10_000);
    expect(await ctx.services.outboundStore.setDialing(o.orgId, null, 1)).toMatchObject({ outcome: 'found', calls_per_second: 1 });
    const t = Date.now();
    const admit = (nowMs: number) =>
      ctx.services.outboundStore.admit({
        orgId: o.orgId,
        callId: randomUUID(),
        idempotencyKey: randomUUID(),
        fingerprint: 'f'.repeat(64),
        destination: GB,
        country: 'GB',
        phoneNumberId: o.num.vapiPhoneNumberId,
        assistantId: o.num.assistantId,
        ...admitTermsOf(ctx.config),
        concurrencyLimit: null,
        nowMs,
      });
    expect((await admit(t)).outcome).toBe('held');
    expect(await admit(t - 50)).toEqual({ outcome: 'calls_per_second', limit: 1 });
    expect((await admit(t + 1_001)).outcome).toBe('held');
  });

  it('keeps the rate table as operators put it, refusing a bad table whole (400, nothing changed)', async () => {
    const as = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    const got = expectConforms('get', '/api/admin/rates', await request(ctx.app()).get('/api/admin/rates').set(as));
    expect(got.body.rates.map((r: { prefix: string }) => r.prefix)).toEqual(['+1415', '+44', '+4490', '+63']);
    expect(got.body.rates.find((r: { prefix: string }) => r.prefix === '+63')).toEqual({ prefix: '+63', ratePerMinute: 5000, connectFee: 10, minimumSeconds: 30, incrementSeconds: 6, blocked: false });
    for (const bad of [
      { rates: [{ prefix: '44', ratePerMinute: 56 }] },
      { rates: [{ prefix: '+44', ratePerMinute: 0 }] },
      { rates: [{ prefix: '+44', ratePerMinute: 1.5 }] },
      { rates: [{ prefix: '+44', ratePerMinute: 56, incrementSeconds: 0 }] },
      { rates: [{ prefix: '+44', ratePerMinute: 56 }, { prefix: '+44', ratePerMinute: 60 }] },
      { rates: [{ prefix: '+44', ratePerMinute: 56, extra: 1 }] },
    ]) {
      expect(expectConforms('put', '/api/admin/rates', await request(ctx.app()).put('/api/admin/rates').set(as).send(bad)).status).toBe(400);
    }
    expect((await request(ctx.app()).get('/api/admin/rates').set(as)).body).toEqual(got.body);
    expect((await request(ctx.app()).put('/api/admin/rates').send({ rates: [] })).status).toBe(401);
  });

  it('answers 422 for a number that is not a valid phone number, and 400 without an Idempotency-Key', async () => {
    const o = await orgWithNumber(1000);
    expect((await place(o, '+4412')).status).toBe(422);
    const noKey = await request(ctx.app()).post('/api/calls').set('Authorization', `Bearer ${o.token}`).send({ assistantId: 'a', phoneNumberId: o.num.vapiPhoneNumberId, customer: { number: GB } });
    expect(noKey.status).toBe(400);
    expect(await vapiCalls(o.num.vapiPhoneNumberId)).toHaveLength(0);
  });
});

describe('the platform cap on outbound calls', () => {
  let ctx: TestContext;
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  beforeAll(async () => {
    sim = await startVapiCallSimulator();
    ctx = await createTestContext({ VAPI_API_BASE_URL: sim.url, VAPI_CONCURRENCY_LIMIT: '1' });
  });
  afterAll(async () => {
    await sim.close();
    await ctx.close();
  });

  it('refuses an outbound call beyond VAPI_CONCURRENCY_LIMIT with 503, and never an inbound call', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const num = await registerNumber(ctx.services, orgId);
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const place = () =>
      request(ctx.app()).post('/api/calls').set('Authorization', `Bearer ${token}`).set('Idempotency-Key', randomUUID()).send({ assistantId: num.assistantId, phoneNumberId: num.vapiPhoneNumberId, customer: { number: GB } });
    expect((await place()).status).toBe(201);
    const second = await place();
    expect(second.status).toBe(503);
    expect(second.body).toMatchObject({ error: 'platform_at_capacity' });
    expect(await ctx.services.calls.store.holdsTotal(orgId)).toBe(112);
    const inbound = await postWebhook(ctx.app(), assistantRequest(num));
    expect(inbound.body.assistantId).toBe(num.assistantId);
  });
});

describe('the hang-up of an outbound call whose control URL fails', () => {
  let ctx: TestContext;
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  let down: Listening;
  beforeAll(async () => {
    // No webhook target: the service hears nothing of the call from the simulator, so only Vapi's
    // API can tell the hang-up that the call is over.
    sim = await startVapiCallSimulator();
    ctx = await createTestContext({ VAPI_API_BASE_URL: sim.url });
    // A control URL that always answers 503.
    down = await listenLocal((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"statusCode":503,"message":"down","error":"Service Unavailable"}');
    });
  });
  afterAll(async () => {
    await down.close();
    await sim.close();
    await ctx.close();
  });

  it("asks Vapi's API by Vapi's id, not ours, and stops once Vapi says it ended", async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const res = await request(ctx.app())
      .post('/api/calls')
      .set('Authorization', `Bearer ${token}`)
      .set('Idempotency-Key', randomUUID())
      .send({ assistantId: num.assistantId, phoneNumberId: num.vapiPhoneNumberId, customer: { number: GB } });
    expect(res.status).toBe(201);
    const { callId, vapiCallId } = res.body as { callId: string; vapiCallId: string };
    expect(vapiCallId).not.toBe(callId);
    expect(await ctx.services.calls.meters.learnControlUrl(callId, `${down.url}/call/${callId}/control`)).toBe(true);
    const entry = await eventually(async () => (await ctx.services.redis.hget(ctx.services.keys.holds(orgId), callId)) ?? undefined, { what: 'the Redis hold of the outbound call' });
    const [, , maxd, expires, admitted, cap] = entry.split('|').map(Number);
    const job: CallMeterJob = { kind: 'hangup', callId, orgId, slice: 1, admittedAtMs: admitted ?? 0, maxDurationSeconds: maxd ?? 0, expiresAtMs: expires ?? 0, cap: cap ?? 0, dueAtMs: Date.now() };
    const step = (attemptsMade: number) => ctx.services.calls.meters.step(job, { attemptsMade, attempts: 5 });

    // Live at Vapi, its control URL down: tried again after the backoff.
    await expect(step(0)).rejects.toBeInstanceOf(HangupPendingError);
    // Vapi ends it (the customer hung up); the control URL still fails: the next try stops.
    expect((await fetch(`${sim.url}/sandbox/calls/${vapiCallId}/end`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    expect(await step(1)).toBe('ended_at_vapi');
  });
});
