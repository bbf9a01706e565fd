// Proves that ending a call that ran out of money survives an outage of Vapi's live call control
// (issue 22 item 3, failure mode 37), end to end: the real workers and queues, real Redis and
// Postgres, and the Vapi simulator as the sandbox runs it — its calls, their control URLs, their
// webhooks to the service over HTTP, and POST /sandbox/outage (CONTRACT §13). A wallet of 20 at
// 10-second slices admits a call holding 10 and a second holding the other 10, so the first
// call's renewal (due 3 s before its 10 held seconds run out) cannot be covered: the service says
// why, then sends end-call when the 10 s are used up.
// - With the control URL down from before the say until 3 s after the end-call was due (five
//   times the old 0.6 s retry window), the call is still ended, by end-call, once the outage ends,
//   and then billed from the simulator's report. The old hang-up reported "hung_up" after three
//   tries in 0.6 s and the call ran on.
// - With the outage outlasting every try (CALL_HANGUP_ATTEMPTS), the call is counted in
//   billing_gates_calls_unendable_total and logged, without its control URL.
// - A hang-up stops once the call is known ended although its control URL still fails: by Vapi's
//   GET /call, or by our own records (its ended status-update).
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { HangupPendingError } from '../../shared/calls/call-meter';
import { createLogger } from '../../shared/logger';
import type { CallMeterJob } from '../../shared/queues/queues';
import { createSandboxCallStore, createVapiCallRoutes } from '../../sandbox/vapi-call-routes';
import { createWebhookSender } from '../../sandbox/vapi-webhooks';
import { startVapiSimulator, type VapiSimulator, type VapiSimulatorContext } from '../../sandbox/vapi-simulator';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { createFundedOrg, createTestContext, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { assistantRequest, postWebhook, registerNumber, type TestNumber } from '../support/vapi';
import { eventually } from '../support/eventually';

jest.setTimeout(120_000);

/** Tries of a hang-up in all, and the base of their backoff: the last try ~10 s after the first. */
const HANGUP_ATTEMPTS = 5;
const HANGUP_BACKOFF_MS = 500;

describe('ending a call that ran out of money while Vapi’s live call control is down', () => {
  let sim: VapiSimulator;
  let ctx: TestContext;
  let workers: RunningWorkers;
  let app: Server;
  let webhookUrl = '';
  const calls = createSandboxCallStore();
  const logLines: string[] = [];

  beforeAll(async () => {
    const webhooks = createWebhookSender({ backoffMs: 20, timeoutMs: 2000 });
    sim = await startVapiSimulator({ routers: [(c: VapiSimulatorContext) => createVapiCallRoutes({ ...c, store: calls, webhooks })] });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    ctx = await createTestContext(
      {
        CALL_HOLD_SECONDS: '10',
        CALL_MIN_BALANCE: '10',
        CALL_HANGUP_ATTEMPTS: String(HANGUP_ATTEMPTS),
        CALL_HANGUP_BACKOFF_MS: String(HANGUP_BACKOFF_MS),
        SWEEP_INTERVAL_MS: '600000',
        VAPI_API_BASE_URL: sim.url,
      },
      { log: createLogger('info', {}, sink) },
    );
    workers = await startWorkers(ctx.services);
    app = await new Promise<Server>((resolve) => {
      const s = createServer(ctx.app()).listen(0, '127.0.0.1', () => resolve(s));
    });
    webhookUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/api/vapi/webhook`;
  });
  // An outage a failed test left running would fail the next one too.
  afterEach(() => void sim.outage.start(0, 503));
  afterAll(async () => {
    await workers.close(5000);
    await new Promise<void>((resolve) => {
      app.close(() => resolve());
      app.closeAllConnections();
    });
    await sim.close();
    await ctx.close();
  });

  const auth = { authorization: 'Bearer sandbox-vapi-key', 'content-type': 'application/json' };
  const simPost = async (path: string, body: unknown) => {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** The sum of a counter's values whose labels include `labels`. */
  const count = async (counter: 'callControl' | 'callsUnendable' | 'callRenewals', labels: Record<string, string> = {}) =>
    (await ctx.services.metrics[counter].get()).values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((n, v) => n + v.value, 0);
  const counts = async () => ({
    sayFailed: await count('callControl', { action: 'say', outcome: 'failed' }),
    endFailed: await count('callControl', { action: 'end-call', outcome: 'failed' }),
    endSent: await count('callControl', { action: 'end-call', outcome: 'sent' }),
    unendable: await count('callsUnendable'),
    exhausted: await count('callRenewals', { outcome: 'exhausted' }),
  });

  /**
   * A wallet of 20: `callId` is admitted holding 10 (10 s, renewal due at 7 s) and is live on the
   * simulator, which tells the service its control URL; a second call takes the other 10, so the
   * renewal finds nothing. Returns when the service knows the control URL.
   */
  async function callAboutToRunOut(callId: string): Promise<{ num: TestNumber; orgId: string; admittedAtMs: number; controlUrl: string }> {
    const orgId = await createFundedOrg(ctx.services, 20);
    const num = await registerNumber(ctx.services, orgId);
    const admittedAtMs = Date.now();
    expect((await postWebhook(ctx.app(), assistantRequest(num, callId))).body.assistantOverrides).toMatchObject({ maxDurationSeconds: 16 });
    expect((await postWebhook(ctx.app(), assistantRequest(num, `${callId}-other`))).body.assistantId).toBe(num.assistantId);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(20);
    const live = await simPost('/sandbox/calls', { id: callId, phoneNumberId: num.vapiPhoneNumberId, serverUrl: webhookUrl, serverSecret: TEST_VAPI_SECRET });
    expect(live.status).toBe(201);
    await eventually(async () => ((await ctx.services.redis.get(ctx.services.keys.callControl(callId))) ? true : undefined));
    return { num, orgId, admittedAtMs, controlUrl: String((live.body.monitor as { controlUrl: string }).controlUrl) };
  }
  /** Starts an outage of the simulator (REST API and control URLs) lasting until `untilMs`; returns its end. */
  async function outageUntil(untilMs: number): Promise<number> {
    const res = await simPost('/sandbox/outage', { seconds: Math.ceil((untilMs - Date.now()) / 1000), status: 503 });
    expect(res.status).toBe(200);
    return Date.parse(String((res.body.outage as { until: string }).until));
  }

  it("a call out of money is ended even when Vapi's control URL is down at the say and at the end-call", async () => {
    const before = await counts();
    const { orgId, admittedAtMs } = await callAboutToRunOut('hangup-outage');
    // Down from now (before the say, due at 7 s) until 3 s after the end-call is due (10 s).
    const outageEnd = await outageUntil(admittedAtMs + 10_000 + 3000);

    const ended = await eventually(async () => (calls.get('hangup-outage')?.status === 'ended' ? calls.get('hangup-outage') : undefined), { timeoutMs: 60_000 });
    // The simulator ends the call before it answers; the service counts the answer right after.
    await eventually(async () => ((await count('callControl', { action: 'end-call', outcome: 'sent' })) > before.endSent ? true : undefined));
    // Ended by end-call, after the outage, and by nothing the outage refused.
    expect(ended.endedReason).toBe('assistant-ended-call');
    expect(Date.parse(ended.endedAt ?? '')).toBeGreaterThanOrEqual(outageEnd);
    expect(calls.controlLog('hangup-outage').messages.map((m) => [m.message.type, m.callStatus])).toEqual([['end-call', 'in-progress']]);
    const after = await counts();
    expect(after.exhausted - before.exhausted).toBe(1);
    expect(after.sayFailed - before.sayFailed).toBe(1); // one say, its quick retries inside the outage
    expect(after.endFailed - before.endFailed).toBeGreaterThanOrEqual(1); // tries during the outage
    expect(after.endSent - before.endSent).toBe(1);
    expect(after.unendable - before.unendable).toBe(0);

    // The simulator's ended status-update and report reach the service: the call is billed once.
    await eventually(async () => {
      const r = await ctx.pool.query("select count(*)::int n from ledger_entries where org_id = $1 and kind = 'call'", [orgId]);
      return r.rows[0]?.n === 1 ? true : undefined;
    }, { timeoutMs: 20_000 });
    await expectLedgerConsistent(ctx.pool);
  });

  it('counts and logs, without its control URL, a call out of money that can never be ended', async () => {
    const before = await counts();
    const { num, admittedAtMs, controlUrl } = await callAboutToRunOut('hangup-never');
    await outageUntil(Date.now() + 300_000);

    await eventually(async () => ((await count('callsUnendable', { reason: 'control_failed' })) - before.unendable === 1 ? true : undefined), { timeoutMs: 60_000 });
    const after = await counts();
    expect(after.endFailed - before.endFailed).toBe(HANGUP_ATTEMPTS); // every try, then it gave up
    expect(after.endSent - before.endSent).toBe(0);
    expect(calls.get('hangup-never')?.status).toBe('in-progress');
    // Given up no sooner than the backoff allows: 0.5 + 1 + 2 + 4 s after the end-call was due,
    // less the jitter's fifth at most.
    expect(Date.now() - (admittedAtMs + 10_000)).toBeGreaterThanOrEqual(0.8 * 7500);

    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const gaveUp = lines.filter((l) => l.callId === 'hangup-never' && l.reason === 'control_failed');
    expect(gaveUp).toEqual([expect.objectContaining({ level: 50, tries: HANGUP_ATTEMPTS, msg: expect.stringMatching(/could not be ended/) })]);
    expect(logLines.filter((l) => l.includes('/call/hangup-never/control') || l.includes(controlUrl))).toEqual([]);

    // Cleanup: the outage ends, the caller hangs up, the report bills the call.
    expect((await simPost('/sandbox/outage', { seconds: 0 })).body).toEqual({ outage: null });
    expect((await simPost('/sandbox/calls/hangup-never/end', {})).status).toBe(200);
    await eventually(async () => {
      const r = await ctx.pool.query("select count(*)::int n from ledger_entries where org_id = $1 and kind = 'call'", [num.orgId]);
      return r.rows[0]?.n === 1 ? true : undefined;
    }, { timeoutMs: 20_000 });
    await expectLedgerConsistent(ctx.pool);
  });

  it('stops trying once the call is known ended although its control URL still fails: by Vapi’s GET /call, or by its ended status-update', async () => {
    // A control URL that always answers 503; the simulator's REST API stays up.
    let controlPosts = 0;
    const down = await new Promise<Server>((resolve) => {
      const s = createServer((_req, res) => {
        controlPosts++;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"statusCode":503,"message":"down","error":"Service Unavailable"}');
      }).listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const orgId = await createFundedOrg(ctx.services, 1000);
      const num = await registerNumber(ctx.services, orgId);
      const step = (job: CallMeterJob, attemptsMade: number) => ctx.services.calls.meters.step(job, { attemptsMade, attempts: HANGUP_ATTEMPTS });
      const hangupOf = async (callId: string): Promise<CallMeterJob> => {
        const [, , maxd, expires, admitted, cap] = ((await ctx.services.redis.hget(ctx.services.keys.holds(orgId), callId)) ?? '').split('|').map(Number);
        return { kind: 'hangup', callId, orgId, slice: 1, admittedAtMs: admitted ?? 0, maxDurationSeconds: maxd ?? 0, expiresAtMs: expires ?? 0, cap: cap ?? 0, dueAtMs: Date.now() };
      };
      for (const id of ['known-at-vapi', 'known-here']) {
        expect((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantId).toBe(num.assistantId);
        expect(await ctx.services.calls.meters.learnControlUrl(id, `http://127.0.0.1:${(down.address() as AddressInfo).port}/call/${id}/control`)).toBe(true);
        // Live on the simulator, with no server URL: the service hears nothing of it from there.
        expect((await simPost('/sandbox/calls', { id })).status).toBe(201);
      }
      const unendable = await count('callsUnendable');

      // A try that fails, not the last: thrown, to be retried after the backoff.
      await expect(step(await hangupOf('known-at-vapi'), 0)).rejects.toBeInstanceOf(HangupPendingError);
      // Vapi ends the call (the caller hung up); its control URL still fails: the next try stops.
      expect((await simPost('/sandbox/calls/known-at-vapi/end', {})).status).toBe(200);
      expect(await step(await hangupOf('known-at-vapi'), 1)).toBe('ended_at_vapi');

      // Our records: the call's ended status-update arrived. No control POST at all.
      expect((await postWebhook(ctx.app(), { message: { type: 'status-update', status: 'ended', endedReason: 'customer-ended-call', call: { id: 'known-here', phoneNumberId: num.vapiPhoneNumberId } } })).status).toBe(200);
      const posts = controlPosts;
      expect(await step(await hangupOf('known-here'), HANGUP_ATTEMPTS - 1)).toBe('not_live');
      expect(controlPosts).toBe(posts);
      expect(await count('callsUnendable')).toBe(unendable);
    } finally {
      await new Promise<void>((resolve) => down.close(() => resolve()));
    }
  });
});
