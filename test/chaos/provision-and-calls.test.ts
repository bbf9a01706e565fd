// Chaos: proves that money is conserved and every saga ends when the system is hurt while it
// works. Real processes (sandbox simulators, one API, two worker processes) on a fresh database,
// a test-owned redis-server and its own key prefix; N provisions over a mix of area codes
// (including the faulty 999/998/997/000) and concurrent calls (assistant-request, status-update,
// end-of-call-report, some duplicated) while a seeded schedule SIGKILLs and restarts workers and
// the API, kills and restarts Redis (once keeping its append-only file, once empty), and stalls
// the simulators (SIGSTOP). Meanwhile a fifth organisation with a few slices of money runs
// metered live calls in the Vapi simulator (its webhooks go to the service) that run out of money
// mid-call: the service renews their holds and, when a renewal cannot be covered, ends them through
// the simulator's control URL (some are hung up by the caller first). After a bounded settle period
// (sweepers on a short interval) it checks, from the outside and from the ledger: every accepted
// request is completed with exactly one number or refunded exactly once; no number is orphaned
// in the simulator; every ended call is charged exactly once at the contract's rate; each
// organisation's balance equals what the client credited minus what it was charged plus what it
// was refunded; balance == sum(entries) everywhere; every metered call was ended (by the service
// or the caller) and charged once for the simulator's own times, the out-of-money organisation
// owes at most one slice per call live when its money ran out, and no hold outlives its call.
// Size and seed: CHAOS_REQUESTS, CHAOS_CALLS, CHAOS_METERED_CALLS, CHAOS_SEED (a number, or
// 'random'; printed, so a failure can be replayed), CHAOS_SETTLE_SECONDS.
import { Pool } from 'pg';
import { SANDBOX_SECRETS } from '../../shared/config';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_VAPI_SECRET } from '../support/context';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { ledgerViolations } from '../support/invariants';
import { freePort, startRedisServer, type TestRedisServer } from '../support/redis-server';
import { uniquePrefix } from '../support/redis';
import { eventually } from '../support/eventually';
import { answers, launchScript, launchService, type ServiceProcess } from '../support/service-processes';
import { ChaosClient, seededRandom, SimulatorClient, sleep } from './chaos-client';

const envInt = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number`);
  return Number(v);
};
/** npm test runs a fixed seed and a small size (~20 s); npm run test:chaos a random seed, bigger. */
const SEED = process.env.CHAOS_SEED === 'random' ? Math.floor(Math.random() * 1_000_000) : envInt('CHAOS_SEED', 20261123);
const REQUESTS = envInt('CHAOS_REQUESTS', 30);
const CALLS = envInt('CHAOS_CALLS', REQUESTS);
const SETTLE_SECONDS = envInt('CHAOS_SETTLE_SECONDS', 90);
/** Metered live calls of the out-of-money organisation (0 turns them off). */
const METERED_CALLS = envInt('CHAOS_METERED_CALLS', 5);
/**
 * When Redis loses everything: 'under-running-workers' (default: after both workers are back, so
 * only the running processes' re-asserted sweep schedules can drive what the wipe stranded —
 * workers/keep-schedules.ts) or 'before-worker-restart' (between killing both workers and starting
 * the second again, where a process start re-creates the schedules).
 */
const REDIS_WIPE = (process.env.CHAOS_REDIS_WIPE ?? 'under-running-workers') as 'before-worker-restart' | 'under-running-workers';
if (REDIS_WIPE !== 'before-worker-restart' && REDIS_WIPE !== 'under-running-workers') throw new Error('CHAOS_REDIS_WIPE must be before-worker-restart or under-running-workers');
/** The load is spread over this long; the chaos events happen inside it. */
const LOAD_MS = Math.max(8000, Math.min(60_000, REQUESTS * 150));

const PRICE = 1000;
const RATE_PER_MINUTE = 56;
const MAX_ATTEMPTS = 6;
const ORGS = 4;
/** Random faults of the simulators on top of the area-code ones: a 503 per request, latency. */
const SIM_FAILURE_RATE = 0.05;
const SIM_LATENCY_MS = 15;
/** Tries for the final listing of held numbers, which the random 503s also hit (0.05^20 ≈ 0). */
const LISTING_TRIES = 20;
/** Each purchase takes this long, so kills land between "bought" and "recorded" (failure modes 13, 14). */
const SIM_PURCHASE_LATENCY_MS = 250;
const CALL_NUMBERS_PER_ORG = 2;
/**
 * Metered holds at their smallest: a slice of CALL_HOLD_SECONDS = 10 s (the minimum) costs
 * ceil(10 × 56 ÷ 60) = 10, and CALL_MIN_BALANCE = 10 so the slice, not the minimum, is what a call
 * holds (at the default 79 a first hold would pay for 84 s). A renewal is asked for 3 s before the
 * held seconds run out (renewalLeadSeconds(10)).
 */
const HOLD_SECONDS = 10;
const MIN_BALANCE = 10;
const GRACE_SECONDS = 5;
/**
 * The out-of-money organisation holds one slice more than it has metered calls: all are admitted
 * (the last on 2 slices of available), about one renewal succeeds, and the rest run out ~7 s in.
 * Its balance also bounds every call's maxDurationSeconds (≤ 59 s), so a call whose webhooks were
 * lost is settled by the sweeper within about a minute.
 */
const METERED_EXTRA_SLICES = 1;
/** Share of metered calls the caller hangs up, 2–8 s after admission, before the money runs out. */
const METERED_CLIENT_ENDS = 0.25;

/** Settings the processes run with: quick retries and sweeps so the settle period stays short. */
function serviceEnv(dbUrl: string, redisUrl: string, ports: { api: number; twilio: number; vapi: number }): Record<string, string> {
  return {
    PORT: String(ports.api),
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: uniquePrefix('chaos'),
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    VAPI_WEBHOOK_SECRET: TEST_VAPI_SECRET,
    SANDBOX_TWILIO_PORT: String(ports.twilio),
    SANDBOX_VAPI_PORT: String(ports.vapi),
    PHONE_NUMBER_PRICE: String(PRICE),
    CALL_RATE_PER_MINUTE: String(RATE_PER_MINUTE),
    PROVISION_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    PROVISION_BACKOFF_MS: '200',
    SWEEP_INTERVAL_MS: '1000',
    STUCK_REQUEST_AFTER_SECONDS: '3',
    CALL_HOLD_GRACE_SECONDS: String(GRACE_SECONDS),
    CALL_HOLD_SECONDS: String(HOLD_SECONDS),
    CALL_MIN_BALANCE: String(MIN_BALANCE),
    SHUTDOWN_DEADLINE_MS: '2000',
    // A SIGKILLed worker's jobs run elsewhere once their lock lapses: keep that short here.
    JOB_LOCK_DURATION_MS: '5000',
    // info: readiness is read from the processes' own log lines ("workers started").
    LOG_LEVEL: 'info',
  };
}

interface ProvisionRecord {
  i: number;
  orgId: string;
  key: string;
  areaCode: string;
  status: number;
  requestId?: string;
  duplicateAgreed?: boolean;
}

interface CallRecord {
  callId: string;
  orgId: string;
  admitted: boolean;
  seconds: number;
  webhookStatuses: number[];
  /** What the gate granted. */
  maxDuration?: number;
  /** From sending the assistant-request to the last webhook's answer: the call as the service saw it. */
  windowMs?: number;
}

/** A metered live call: created in the Vapi simulator, admitted by the client, ended by whoever. */
interface MeteredRecord {
  callId: string;
  created: boolean;
  admitted: boolean;
  maxDuration?: number;
  /** The client hangs up this long after admission (undefined: it waits for the service). */
  clientEndsAfterMs?: number;
  /** Why the client ended it at the simulator, if it did (the simulator's endedReason may differ when the service was first). */
  clientEnded?: 'customer-ended-call' | 'exceeded-max-duration' | 'refused';
}

const AREA_CODES: Array<[string, number]> = [
  ['415', 0.35],
  ['212', 0.15],
  ['999', 0.12],
  ['998', 0.13],
  ['997', 0.13],
  ['000', 0.12],
];

function pickAreaCode(rand: () => number): string {
  let x = rand();
  for (const [code, weight] of AREA_CODES) {
    if ((x -= weight) < 0) return code;
  }
  return '415';
}

const contractCharge = (seconds: number) => Math.ceil((seconds * RATE_PER_MINUTE) / 60);
/** The same from exact milliseconds (the simulator's startedAt/endedAt), rounded once. */
const chargeForMs = (ms: number) => Math.ceil((ms * RATE_PER_MINUTE) / 60_000);
const SLICE = contractCharge(HOLD_SECONDS);
const METERED_BALANCE = SLICE * (METERED_CALLS + METERED_EXTRA_SLICES);
/** The longest a metered call can be granted (the first admission sees the whole balance). */
const METERED_MAX_DURATION = Math.floor((METERED_BALANCE * 60) / RATE_PER_MINUTE);
/** What the simulator records when live call control ends a call (vapi-call-routes.ts CONTROL_ENDED_REASON). */
const SERVICE_ENDED_REASONS = new Set(['assistant-ended-call-after-message-spoken', 'assistant-ended-call']);

describe(`chaos (seed ${SEED}, ${REQUESTS} provisions, ${CALLS} calls)`, () => {
  let redis: TestRedisServer;
  let dbName: string;
  let pool: Pool;
  let env: Record<string, string>;
  let sandbox: ServiceProcess;
  let api: ServiceProcess;
  const workers: ServiceProcess[] = [];
  const spawned: ServiceProcess[] = [];
  let client: ChaosClient;
  let sim: SimulatorClient;
  let twilioBase: string;
  let passed = false;

  const launch = (role: 'api' | 'workers') => {
    const p = launchService(role, env);
    spawned.push(p);
    return p;
  };
  const startWorker = async () => {
    const w = launch('workers');
    await w.waitForOutput('workers started');
    return w;
  };

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    dbName = await createTestDatabase();
    pool = new Pool({ connectionString: databaseUrl(dbName), max: 2 });
    const ports = { api: await freePort(), twilio: await freePort(), vapi: await freePort() };
    env = serviceEnv(databaseUrl(dbName), redis.url, ports);
    twilioBase = `http://127.0.0.1:${ports.twilio}/2010-04-01/Accounts/${SANDBOX_SECRETS.TWILIO_ACCOUNT_SID}`;

    sandbox = launchScript('simulators', 'test/chaos/simulators-process.ts', [], {
      ...env,
      CHAOS_SIM_FAILURE_RATE: String(SIM_FAILURE_RATE),
      CHAOS_SIM_LATENCY_MS: String(SIM_LATENCY_MS),
      CHAOS_SIM_PURCHASE_LATENCY_MS: String(SIM_PURCHASE_LATENCY_MS),
    });
    spawned.push(sandbox);
    await sandbox.waitForOutput('simulators ready');
    await eventually(() => twilioAnswers(), { what: 'simulators answering', timeoutMs: 30_000, everyMs: 100, retryErrors: true });
    api = launch('api');
    await eventually(() => answers(`http://127.0.0.1:${ports.api}/readyz`), { what: 'API ready', timeoutMs: 30_000, everyMs: 100, retryErrors: true });
    workers.push(await startWorker(), await startWorker());
    client = new ChaosClient(`http://127.0.0.1:${ports.api}`, { admin: TEST_ADMIN_TOKEN, jwt: TEST_JWT_SECRET, vapi: TEST_VAPI_SECRET });
    sim = new SimulatorClient(`http://127.0.0.1:${ports.vapi}`);
  }, 90_000);

  afterAll(async () => {
    if (!passed) {
      // The processes' own words, for the failure report.
      for (const p of spawned) process.stdout.write(`\n--- ${p.role} pid ${p.pid} (last output)\n${p.output().slice(-3000)}\n`);
    }
    await Promise.allSettled(spawned.map((p) => p.stop()));
    await pool?.end();
    if (dbName) await dropTestDatabase(dbName);
    await redis?.dispose();
  }, 60_000);

  const basicAuth = `Basic ${Buffer.from(`${SANDBOX_SECRETS.TWILIO_ACCOUNT_SID}:x`).toString('base64')}`;
  async function twilioAnswers(): Promise<boolean> {
    const res = await fetch(`${twilioBase}/IncomingPhoneNumbers.json?PageSize=1`, { headers: { authorization: basicAuth }, signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  }
  async function numbersHeld(): Promise<Array<{ phone_number: string; friendly_name: string }>> {
    const out: Array<{ phone_number: string; friendly_name: string }> = [];
    let url: string | undefined = `${twilioBase}/IncomingPhoneNumbers.json?PageSize=1000`;
    for (let page = 0; url && page < 100; page++) {
      // The simulator's random 503s apply to this listing too: ask again, a bounded number of times.
      let res = await fetch(url, { headers: { authorization: basicAuth }, signal: AbortSignal.timeout(5000) });
      for (let tries = 1; res.status === 503 && tries < LISTING_TRIES; tries++) {
        await res.arrayBuffer();
        res = await fetch(url, { headers: { authorization: basicAuth }, signal: AbortSignal.timeout(5000) });
      }
      expect(res.status).toBe(200);
      const body = (await res.json()) as { incoming_phone_numbers: Array<{ phone_number: string; friendly_name: string }>; next_page_uri: string | null };
      out.push(...body.incoming_phone_numbers);
      url = body.next_page_uri ? new URL(body.next_page_uri, twilioBase).toString() : undefined;
    }
    return out;
  }

  it(
    'ends every provision completed with one number or refunded once, charges every ended call once, and conserves money',
    async () => {
      const rand = seededRandom(SEED);
      const started = Date.now();
      const events: string[] = [];
      const at = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      const log = (line: string) => events.push(`${at()} ${line}`);

      // --- organisations: three well funded, one funded for only a few purchases (402s race).
      const orgIds: string[] = [];
      const credited = new Map<string, number>();
      for (let o = 0; o < ORGS; o++) {
        const orgId = await client.createOrg(`Chaos ${o}`);
        const amount = o === 1 ? PRICE * 3 + 500 : PRICE * REQUESTS + 50_000;
        await client.credit(orgId, amount, `chaos-credit-${o}`);
        orgIds.push(orgId);
        credited.set(orgId, amount);
      }
      const callNumbers: Array<{ orgId: string; e164: string; id: string }> = [];
      for (const [o, orgId] of orgIds.entries()) {
        for (let n = 0; n < CALL_NUMBERS_PER_ORG; n++) {
          const e164 = `+1202555${String(1000 + o * 10 + n)}`;
          const id = `pn-chaos-${SEED}-${o}-${n}`;
          await client.registerNumber(orgId, e164, id);
          callNumbers.push({ orgId, e164, id });
        }
      }
      // The fifth organisation: a few slices of money and one number, for the metered live calls.
      const meteredOrgId = await client.createOrg('Chaos metered');
      await client.credit(meteredOrgId, METERED_BALANCE, 'chaos-credit-metered');
      credited.set(meteredOrgId, METERED_BALANCE);
      const meteredNumber = { e164: '+12025559000', id: `pn-chaos-${SEED}-metered` };
      await client.registerNumber(meteredOrgId, meteredNumber.e164, meteredNumber.id);

      // --- the load: provisions and calls at seeded times across LOAD_MS.
      const provisions: ProvisionRecord[] = [];
      const provisionTasks = Array.from({ length: REQUESTS }, (_, i) => {
        const delay = rand() * LOAD_MS;
        const orgId = orgIds[Math.floor(rand() * ORGS)]!;
        const areaCode = pickAreaCode(rand);
        const duplicate = rand() < 0.2;
        return (async () => {
          await sleep(delay);
          const key = `chaos-${SEED}-${i}`;
          const [first, second] = await Promise.all([client.provision(orgId, key, areaCode), duplicate ? client.provision(orgId, key, areaCode) : Promise.resolve(undefined)]);
          const rec: ProvisionRecord = { i, orgId, key, areaCode, status: first.status };
          if (first.status === 202) rec.requestId = String(first.body.requestId);
          if (second) rec.duplicateAgreed = second.status === first.status && second.body.requestId === first.body.requestId;
          provisions.push(rec);
        })();
      });

      const calls: CallRecord[] = [];
      const callTasks = Array.from({ length: CALLS }, (_, j) => {
        const delay = rand() * LOAD_MS;
        const num = callNumbers[Math.floor(rand() * callNumbers.length)]!;
        const seconds = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 180);
        const duplicateReport = rand() < 0.3;
        const endedFirst = rand() < 0.5;
        const talkMs = Math.floor(rand() * 400);
        return (async () => {
          await sleep(delay);
          const callId = `call-${SEED}-${j}`;
          const call = { id: callId, type: 'inboundPhoneCall', phoneNumberId: num.id, customer: { number: '+14155550123' } };
          const phoneNumber = { id: num.id, number: num.e164 };
          const rec: CallRecord = { callId, orgId: num.orgId, admitted: false, seconds, webhookStatuses: [] };
          calls.push(rec);
          const sentAt = Date.now();
          const gate = await client.webhook({ type: 'assistant-request', timestamp: Date.now(), call, phoneNumber });
          rec.webhookStatuses.push(gate.status);
          rec.admitted = typeof gate.body.assistantId === 'string';
          if (!rec.admitted) return;
          const overrides = gate.body.assistantOverrides as Record<string, unknown> | undefined;
          rec.maxDuration = Number(overrides?.maxDurationSeconds);
          const liveCall = { ...call, assistantOverrides: overrides, metadata: overrides?.metadata };
          rec.webhookStatuses.push((await client.webhook({ type: 'status-update', status: 'in-progress', call: liveCall, phoneNumber })).status);
          await sleep(talkMs);
          const end = Date.now();
          const startedAt = new Date(end - seconds * 1000).toISOString();
          const endedAt = new Date(end).toISOString();
          if (endedFirst) rec.webhookStatuses.push((await client.webhook({ type: 'status-update', status: 'ended', call: liveCall, phoneNumber, endedReason: 'customer-ended-call' })).status);
          const report = { type: 'end-of-call-report', endedReason: 'customer-ended-call', startedAt, endedAt, durationSeconds: seconds, call: liveCall, phoneNumber };
          const reports = await Promise.all([client.webhook(report), duplicateReport ? client.webhook(report) : Promise.resolve(undefined)]);
          for (const r of reports) if (r) rec.webhookStatuses.push(r.status);
          if (!endedFirst) rec.webhookStatuses.push((await client.webhook({ type: 'status-update', status: 'ended', call: liveCall, phoneNumber, endedReason: 'customer-ended-call' })).status);
          rec.windowMs = Date.now() - sentAt;
        })();
      });

      // --- metered live calls of the out-of-money organisation, in the Vapi simulator. Each is
      // created there with the service as its server (the simulator sends status-update
      // in-progress now, and ended + end-of-call-report when it ends), admitted by the client
      // posting the assistant-request with the simulator's call object (so its monitor.controlUrl),
      // then left running: the service renews its hold slice by slice and, when the wallet cannot
      // cover a renewal, ends it through the control URL. The client plays the caller (hangs up
      // some calls early) and Vapi's own limit (ends a call still live at its maxDurationSeconds,
      // which the simulator does not enforce: a service that never ends a call shows up as that).
      // Its own seeded sequence, so the seeds of the other load replay as before.
      const mrand = seededRandom(SEED ^ 0x6d657465);
      const metered: MeteredRecord[] = [];
      const webhookUrl = `${client.baseUrl}/api/vapi/webhook`;
      const meteredTasks = Array.from({ length: METERED_CALLS }, (_, k) => {
        const delay = mrand() * LOAD_MS * 0.25;
        const clientEndsAfterMs = mrand() < METERED_CLIENT_ENDS ? 2000 + Math.floor(mrand() * 6000) : undefined;
        return (async () => {
          await sleep(delay);
          const callId = `metered-${SEED}-${k}`;
          const rec: MeteredRecord = { callId, created: false, admitted: false, ...(clientEndsAfterMs !== undefined ? { clientEndsAfterMs } : {}) };
          metered.push(rec);
          const created = await sim.send('POST', '/sandbox/calls', { id: callId, phoneNumberId: meteredNumber.id, serverUrl: webhookUrl, serverSecret: TEST_VAPI_SECRET });
          if (created.status !== 201) return;
          rec.created = true;
          // As Vapi sends it: the call object (monitor.controlUrl included), unset fields left out.
          const call = Object.fromEntries(Object.entries(created.body).filter(([, v]) => v !== null));
          const gate = await client.webhook({ type: 'assistant-request', timestamp: Date.now(), call, phoneNumber: { id: meteredNumber.id, number: meteredNumber.e164 } });
          rec.admitted = typeof gate.body.assistantId === 'string';
          const end = async (reason: NonNullable<MeteredRecord['clientEnded']>) => {
            rec.clientEnded = reason;
            await sim.send('POST', `/sandbox/calls/${encodeURIComponent(callId)}/end`, { endedReason: reason === 'refused' ? 'assistant-request-returned-error' : reason });
          };
          if (!rec.admitted) return end('refused');
          const admittedAt = Date.now();
          rec.maxDuration = Number((gate.body.assistantOverrides as Record<string, unknown> | undefined)?.maxDurationSeconds);
          const maxEndAt = Date.parse(String(created.body.startedAt)) + rec.maxDuration * 1000;
          const clientEndAt = clientEndsAfterMs === undefined ? Infinity : admittedAt + clientEndsAfterMs;
          for (;;) {
            if (Date.now() >= maxEndAt) return end('exceeded-max-duration');
            if (Date.now() >= clientEndAt) return end('customer-ended-call');
            const state = await sim.send('GET', `/sandbox/calls/${encodeURIComponent(callId)}/control`);
            if (state.body.status === 'ended') return;
            await sleep(Math.max(0, Math.min(400, clientEndAt - Date.now(), maxEndAt - Date.now())));
          }
        })();
      });

      // A Redis that comes back with nothing: queued jobs, job schedules, holds and the cache
      // are gone; only the database and the sweepers can finish what was under way.
      const wipeRedis = async () => {
        log('SIGKILL redis-server, restart it EMPTY');
        await redis.stop();
        await sleep(500);
        await redis.start({ empty: true });
        log('redis-server restarted empty');
      };

      // --- the chaos: each fault starts at a seeded moment inside the load window (they may overlap).
      const when = (fraction: number) => sleep(LOAD_MS * fraction * (0.9 + rand() * 0.2));
      const chaos = [
        (async () => {
          await when(0.12);
          log(`SIGKILL worker pid ${workers[0]!.pid}`);
          await workers[0]!.kill();
          await sleep(500);
          workers[0] = await startWorker();
          log(`worker restarted (pid ${workers[0].pid})`);
        })(),
        (async () => {
          await when(0.3);
          log('SIGKILL redis-server');
          await redis.stop();
          await sleep(1500);
          await redis.start();
          log('redis-server restarted (append-only file kept)');
        })(),
        (async () => {
          await when(0.45);
          log('SIGSTOP simulators (stall)');
          sandbox.pause();
          await sleep(3000);
          sandbox.resume();
          log('SIGCONT simulators');
        })(),
        (async () => {
          await when(0.6);
          log(`SIGKILL API pid ${api.pid} (clients retry with the same keys)`);
          await api.kill();
          api = launch('api');
          await eventually(() => answers(`${client.baseUrl}/readyz`), { what: 'API ready again', timeoutMs: 30_000, everyMs: 100, retryErrors: true });
          log(`API restarted (pid ${api.pid})`);
        })(),
        (async () => {
          await when(0.8);
          log('SIGKILL both workers');
          await Promise.all(workers.map((w) => w.kill()));
          await sleep(700);
          workers[0] = await startWorker();
          if (REDIS_WIPE === 'before-worker-restart') await wipeRedis();
          workers[1] = await startWorker();
          log(`workers restarted (pids ${workers[0].pid}, ${workers[1].pid})`);
          if (REDIS_WIPE === 'under-running-workers') {
            await sleep(300);
            await wipeRedis();
          }
        })(),
      ];

      await Promise.all([...provisionTasks, ...callTasks, ...meteredTasks, ...chaos]);
      log('load finished; settling');

      // --- settle: every accepted request final, every admitted call charged, within the limit.
      const accepted = provisions.filter((p) => p.status === 202);
      const finalStatus = new Map<string, Record<string, unknown>>();
      const admitted = calls.filter((c) => c.admitted);
      const chargedCalls = async () =>
        (await pool.query<{ key: string; n: number }>("select idempotency_key as key, count(*)::int as n from ledger_entries where kind = 'call' group by 1")).rows;
      let settleError: string | undefined;
      try {
        await eventually(
          async () => {
            for (const p of accepted) {
              if (finalStatus.has(p.requestId!)) continue;
              const r = await client.provisionStatus(p.orgId, p.requestId!);
              if (r.status === 200 && (r.body.status === 'completed' || r.body.status === 'refunded')) finalStatus.set(p.requestId!, r.body);
            }
            const charged = new Set((await chargedCalls()).map((r) => r.key));
            return (
              finalStatus.size === accepted.length &&
              admitted.every((c) => charged.has(`call:${c.callId}`)) &&
              metered.every((m) => !m.created || charged.has(`call:${m.callId}`))
            );
          },
          { what: 'every accepted request completed or refunded, every admitted call and every metered call charged', timeoutMs: SETTLE_SECONDS * 1000, everyMs: 500, retryErrors: true },
        );
      } catch (err) {
        // Report what is stuck rather than stopping here.
        settleError = (err as Error).message;
      }
      log(`settled ${finalStatus.size}/${accepted.length} requests`);

      // --- checks.
      const problems: string[] = settleError ? [settleError] : [];
      // Provisioning: final, one number per completed request, refunded exactly the price.
      for (const p of accepted) {
        const s = finalStatus.get(p.requestId!);
        if (!s) {
          const now = await client.provisionStatus(p.orgId, p.requestId!);
          problems.push(`request ${p.requestId} (${p.areaCode}) never finished: ${JSON.stringify(now.body)}`);
          continue;
        }
        if (s.status === 'completed') {
          if (typeof s.phoneNumber !== 'string' || s.refunded !== 0) problems.push(`request ${p.requestId} completed with ${JSON.stringify(s)}`);
        } else if (s.refunded !== PRICE || s.phoneNumber !== null) {
          problems.push(`request ${p.requestId} refunded with ${JSON.stringify(s)}`);
        }
        if (p.areaCode === '000' || p.areaCode === '999') {
          if (s.status !== 'refunded') problems.push(`request ${p.requestId} for area code ${p.areaCode} ended ${String(s.status)}, expected refunded`);
        }
      }
      for (const p of provisions) {
        if (p.status !== 202 && p.status !== 402) problems.push(`provision ${p.key} answered ${p.status}`);
        if (p.duplicateAgreed === false) problems.push(`provision ${p.key}: a concurrent replay of the same key got a different answer`);
      }
      // No orphan in the simulator: every held number belongs to a completed request, once.
      const held = await numbersHeld();
      const byRequest = new Map<string, string[]>();
      for (const n of held) byRequest.set(n.friendly_name, [...(byRequest.get(n.friendly_name) ?? []), n.phone_number]);
      for (const [requestId, numbers] of byRequest) {
        const s = finalStatus.get(requestId);
        if (!s || s.status !== 'completed') problems.push(`simulator holds ${numbers.join(', ')} for ${requestId}, which is ${s ? String(s.status) : 'not an accepted request'} (orphaned number)`);
        else if (numbers.length !== 1 || numbers[0] !== s.phoneNumber) problems.push(`request ${requestId} holds ${numbers.join(', ')} in the simulator, status says ${String(s.phoneNumber)}`);
      }
      for (const [requestId, s] of finalStatus) {
        if (s.status === 'completed' && !byRequest.has(requestId)) problems.push(`completed request ${requestId} holds no number in the simulator`);
      }
      // Calls: every admitted call charged exactly once, at the contract's rate.
      const callEntries = await pool.query<{ key: string; n: number; amount: string }>(
        "select idempotency_key as key, count(*)::int as n, sum(amount)::text as amount from ledger_entries where kind = 'call' group by 1",
      );
      const entryByKey = new Map(callEntries.rows.map((r) => [r.key, r]));
      /** The client's own figure for each call's charge, for the money check. */
      const expectedCharge = new Map<string, number>();
      let implausibleReports = 0;
      for (const c of admitted) {
        const e = entryByKey.get(`call:${c.callId}`);
        const bound = c.maxDuration === undefined ? Infinity : c.maxDuration + GRACE_SECONDS;
        if (c.seconds > bound) {
          // A report longer than the call was granted is implausible (CONTRACT §4.2): billed by the
          // service's own record (admission to its ended status-update or the report's arrival),
          // capped at the bound. That time lies inside the client's window of the call.
          implausibleReports++;
          const most = Math.min(contractCharge(bound), chargeForMs(c.windowMs ?? bound * 1000));
          if (!e) problems.push(`call ${c.callId} (implausible ${c.seconds}s report, granted ${c.maxDuration}s) was never charged`);
          else if (e.n !== 1 || -Number(e.amount) < 0 || -Number(e.amount) > most) problems.push(`call ${c.callId} (implausible ${c.seconds}s, granted ${c.maxDuration}s): ${e.n} entries totalling ${e.amount}, expected one of 0..${-most}`);
          expectedCharge.set(c.callId, e && e.n === 1 ? -Number(e.amount) : 0);
          continue;
        }
        expectedCharge.set(c.callId, contractCharge(c.seconds));
        if (!e) problems.push(`call ${c.callId} (${c.seconds}s) was never charged`);
        else if (e.n !== 1 || Number(e.amount) !== -contractCharge(c.seconds)) problems.push(`call ${c.callId}: ${e.n} entries totalling ${e.amount}, expected one of ${-contractCharge(c.seconds)}`);
      }

      // Metered calls: what the simulator saw (times, who ended the call, what reached the control
      // URL) against what the service recorded (the charge, the settlement, the slices granted).
      const meteredRows = await pool.query<{ call_id: string; slices: number; held_seconds: number | null; settled_by: string | null; hold_state: string; has_control_url: boolean }>(
        // Whether the service kept the call's control URL (never the URL: it is a secret).
        'select c.call_id, c.slices, c.held_seconds, c.settled_by, c.hold_state, exists (select 1 from call_controls cc where cc.call_id = c.call_id) as has_control_url from calls c where c.call_id = any($1)',
        [metered.map((m) => m.callId)],
      );
      const meteredRow = new Map(meteredRows.rows.map((r) => [r.call_id, r]));
      const ended = { service: 0, caller: 0, maxDuration: 0, other: 0 };
      const control = { say: 0, endCall: 0, afterEnd: 0 };
      const settledBy = new Map<string, number>();
      let renewals = 0;
      let meteredCharges = 0;
      let firstSayAt = Infinity;
      const meteredSpans: Array<{ startedAt: number; endedAt: number }> = [];
      for (const m of metered) {
        const label = `metered call ${m.callId}`;
        if (!m.created) {
          problems.push(`${label} could not be created in the simulator`);
          continue;
        }
        if (!m.admitted) problems.push(`${label} was refused at admission (the wallet had ${METERED_CALLS + METERED_EXTRA_SLICES} slices for ${METERED_CALLS} calls)`);
        const id = encodeURIComponent(m.callId);
        const call = (await sim.send('GET', `/call/${id}`)).body;
        const log = (await sim.send('GET', `/sandbox/calls/${id}/control`)).body as { messages?: Array<{ receivedAt: string; callStatus: string; message: { type: string; endCallAfterSpoken?: boolean } }> };
        const messages = log.messages ?? [];
        for (const r of messages) {
          if (r.message.type === 'say' && r.message.endCallAfterSpoken === true) {
            control.say++;
            firstSayAt = Math.min(firstSayAt, Date.parse(r.receivedAt));
          } else if (r.message.type === 'end-call') control.endCall++;
          else problems.push(`${label}: unexpected control message ${JSON.stringify(r.message)}`);
          if (r.callStatus === 'ended') control.afterEnd++;
        }
        const reason = String(call.endedReason);
        const endingMessage = messages.some((r) => r.callStatus !== 'ended' && (r.message.type === 'end-call' || r.message.endCallAfterSpoken === true));
        if (call.status !== 'ended') problems.push(`${label} is still ${String(call.status)} in the simulator`);
        else if (SERVICE_ENDED_REASONS.has(reason)) {
          ended.service++;
          if (!endingMessage) problems.push(`${label} ended ${reason} but no ending control message reached it while live`);
        } else if (reason === 'customer-ended-call') ended.caller++;
        else if (reason === 'exceeded-max-duration') {
          ended.maxDuration++;
          const row = meteredRow.get(m.callId);
          // Legitimate only when its holds paid for the whole granted duration (renewed to its cap).
          if (!row || row.held_seconds === null || m.maxDuration === undefined || row.held_seconds < m.maxDuration)
            problems.push(
            `${label} ran to its maxDurationSeconds (${m.maxDuration} s) without the service ending it; control messages: ${JSON.stringify(messages.map((r) => r.message.type))}; ` +
                `the service's record: ${row ? `${row.slices} slices, ${String(row.held_seconds)} s held, control URL ${row.has_control_url ? 'kept' : 'NOT kept'}` : 'none'}`,
            );
        } else ended.other++;
        const startedAt = Date.parse(String(call.startedAt));
        const endedAt = Date.parse(String(call.endedAt));
        if (!Number.isFinite(startedAt) || !Number.isFinite(endedAt)) continue;
        meteredSpans.push({ startedAt, endedAt });
        // The charge, from the simulator's own startedAt/endedAt (what its report and GET /call say).
        const ms = endedAt - startedAt;
        const bound = m.maxDuration === undefined ? Infinity : m.maxDuration + GRACE_SECONDS;
        const e = entryByKey.get(`call:${m.callId}`);
        let expected = chargeForMs(ms);
        if (ms / 1000 > bound) {
          implausibleReports++;
          if (e && e.n === 1 && -Number(e.amount) >= 0 && -Number(e.amount) <= contractCharge(bound)) expected = -Number(e.amount);
        }
        meteredCharges += expected;
        if (!e) problems.push(`${label} (${ms} ms in the simulator, ended ${reason}) was never charged`);
        else if (e.n !== 1 || Number(e.amount) !== -expected) problems.push(`${label} (${ms} ms, granted ${m.maxDuration} s): ${e.n} entries totalling ${e.amount}, expected one of ${-expected}`);
        const row = meteredRow.get(m.callId);
        if (m.admitted && !row) problems.push(`${label} was admitted but the service has no record of it`);
        if (row) {
          renewals += row.slices - 1;
          settledBy.set(String(row.settled_by), (settledBy.get(String(row.settled_by)) ?? 0) + 1);
          if (row.settled_by !== 'report' && row.settled_by !== 'sweeper') problems.push(`${label} settled_by ${String(row.settled_by)}, expected report or sweeper`);
          if (row.hold_state !== 'released') problems.push(`${label} is settled but its hold is still ${row.hold_state}`);
        }
        if (m.admitted) expectedCharge.set(m.callId, expected);
      }
      // Overdraft bound. The holds of live calls never exceed the balance (a renewal is granted only
      // if available covers it), so only time a call talks past its held seconds is unpaid for: the
      // lateness of the renewal that failed plus the control round trip. The contract bounds that
      // by the slice each call holds when the money runs out, so the organisation may end at most
      // one slice per call then live below zero. "Then" = the first say the simulator received.
      const liveAtRunOut = Number.isFinite(firstSayAt) ? meteredSpans.filter((c) => c.startedAt <= firstSayAt && c.endedAt > firstSayAt).length : 0;
      const overdraftBound = -liveAtRunOut * SLICE;
      const meteredBalance = Number((await pool.query<{ balance: string }>('select balance::text from wallets where org_id = $1', [meteredOrgId])).rows[0]?.balance);
      if (!(meteredBalance >= overdraftBound)) problems.push(`out-of-money org ends at ${meteredBalance}, below ${overdraftBound} (one slice of ${SLICE} for each of the ${liveAtRunOut} calls live when its money ran out)`);
      if (METERED_CALLS > 0 && ended.service === 0) problems.push('the service ended none of the metered calls (no call ran out of money?)');

      const admittedKeys = new Set([...admitted.map((c) => `call:${c.callId}`), ...metered.filter((m) => m.admitted).map((m) => `call:${m.callId}`)]);
      for (const r of callEntries.rows) if (!admittedKeys.has(r.key)) problems.push(`ledger charges ${r.key}, which was never admitted`);
      for (const c of calls) for (const s of c.webhookStatuses) if (s !== 200) problems.push(`call ${c.callId}: webhook answered ${s}`);
      // Money: from the client's own tally, per organisation and in total.
      const balances = await pool.query<{ org_id: string; balance: string }>('select org_id, balance::text from wallets');
      let expectedTotal = 0;
      let actualTotal = 0;
      for (const orgId of [...orgIds, meteredOrgId]) {
        const paid = accepted.filter((p) => p.orgId === orgId).length * PRICE;
        const refunded = accepted.filter((p) => p.orgId === orgId && finalStatus.get(p.requestId!)?.status === 'refunded').length * PRICE;
        const callCharges =
          admitted.filter((c) => c.orgId === orgId).reduce((sum, c) => sum + (expectedCharge.get(c.callId) ?? 0), 0) + (orgId === meteredOrgId ? meteredCharges : 0);
        const expected = credited.get(orgId)! - paid + refunded - callCharges;
        const actual = Number(balances.rows.find((b) => b.org_id === orgId)?.balance);
        expectedTotal += expected;
        actualTotal += actual;
        if (expected !== actual) problems.push(`org ${orgId}: balance ${actual}, expected ${expected} (credited ${credited.get(orgId)}, paid ${paid}, refunded ${refunded}, calls ${callCharges})`);
      }
      const kinds = await pool.query<{ kind: string; n: number; total: string }>('select kind, count(*)::int as n, sum(amount)::text as total from ledger_entries group by kind order by kind');
      problems.push(...(await ledgerViolations(pool)));
      // No hold outlives its call: once every call is settled, nothing is held, in Postgres or in
      // Redis (GET /api/wallet's available = balance − max(Redis held, Postgres held)). A Redis
      // hold is released after the charge's cache write, which may be repaired in the background:
      // a few seconds, bounded.
      const leftHeld = await pool.query<{ call_id: string; hold_state: string; settled_by: string | null }>(
        "select call_id, hold_state, settled_by from calls where hold_state = 'held' or settled_at is null order by call_id limit 20",
      );
      for (const r of leftHeld.rows) problems.push(`call ${r.call_id} is still ${r.hold_state} (settled_by ${String(r.settled_by)}) after settling`);
      let walletGaps: string[] = [];
      await eventually(
        async () => {
          walletGaps = [];
          for (const orgId of [...orgIds, meteredOrgId]) {
            const w = await client.wallet(orgId);
            if (w.status !== 200 || w.body.available !== w.body.balance) walletGaps.push(`org ${orgId}: GET /api/wallet ${w.status} ${JSON.stringify(w.body)}`);
          }
          return walletGaps.length === 0;
        },
        { what: 'available == balance in every wallet', timeoutMs: 15_000, everyMs: 500, retryErrors: true },
      ).catch(() => undefined);
      problems.push(...walletGaps.map((g) => `a hold still counts after every call settled: ${g}`));

      // --- the printed report.
      const count = (pred: (p: ProvisionRecord) => boolean) => provisions.filter(pred).length;
      const lines = [
        `chaos report — seed ${SEED}, ${REQUESTS} provisions, ${CALLS} calls, load ${LOAD_MS} ms, Redis wiped ${REDIS_WIPE}, total ${at()}`,
        `events:\n  ${events.join('\n  ')}`,
        `provisions: ${count((p) => p.status === 202)} accepted, ${count((p) => p.status === 402)} refused (402), ${count((p) => p.status !== 202 && p.status !== 402)} other`,
        ...AREA_CODES.map(([code]) => {
          const mine = accepted.filter((p) => p.areaCode === code).map((p) => finalStatus.get(p.requestId!));
          const attempts = mine.map((s) => Number(s?.attempts)).join(',');
          return `  ${code}: ${mine.filter((s) => s?.status === 'completed').length} completed, ${mine.filter((s) => s?.status === 'refunded').length} refunded; attempts [${attempts}]`;
        }),
        `numbers held in the simulator: ${held.length}`,
        `calls: ${admitted.length} admitted, ${calls.length - admitted.length} refused, ${callEntries.rows.length} charged (metered included), ${implausibleReports} implausible reports billed by the service's records`,
        `metered calls: org with ${METERED_BALANCE} (${METERED_CALLS + METERED_EXTRA_SLICES} slices of ${SLICE} = ${HOLD_SECONDS} s): ${metered.filter((m) => m.created).length} created, ${metered.filter((m) => m.admitted).length} admitted; ended by the service ${ended.service}, by the caller ${ended.caller} (${metered.filter((m) => m.clientEndsAfterMs !== undefined).length} planned), at maxDuration ${ended.maxDuration} (fully paid: ${metered.filter((m) => m.maxDuration !== undefined && (meteredRow.get(m.callId)?.held_seconds ?? -1) >= m.maxDuration).length}), other ${ended.other}`,
        `  service: ${control.say} say+endCallAfterSpoken, ${control.endCall} end-call (${control.afterEnd} of them reached an already ended call), ${renewals} renewals (slices beyond the first); settled by ${[...settledBy].map(([k, n]) => `${k} ${n}`).join(', ')}`,
        `  charges ${meteredCharges}; balance ${meteredBalance} (bound ≥ ${overdraftBound}: ${liveAtRunOut} calls live when the money ran out${Number.isFinite(firstSayAt) ? ` at ${((firstSayAt - started) / 1000).toFixed(1)}s` : ''}); simulator requests retried ${sim.tally.retried}`,
        `ledger by kind: ${kinds.rows.map((k) => `${k.kind} ${k.n} (${k.total})`).join(', ')}`,
        `money: sum of balances ${actualTotal}, client-side expectation ${expectedTotal}`,
        `client saw ${client.tally.networkErrors} network errors (retried) and ${client.tally.serverErrors.length} 5xx answers`,
        ...client.tally.serverErrors.slice(0, 10).map((e) => `  ${e}`),
        problems.length ? `PROBLEMS (${problems.length}):\n  ${problems.slice(0, 50).join('\n  ')}` : 'no problems found',
      ];
      process.stdout.write(`\n${lines.join('\n')}\n`);

      expect(accepted.length).toBeGreaterThan(0);
      expect(admitted.length).toBeGreaterThan(0);
      expect(client.tally.serverErrors).toEqual([]);
      expect(problems).toEqual([]);
      expect(actualTotal).toBe(expectedTotal);
      passed = true;
    },
    // Load window + settle + process restarts, bounded.
    LOAD_MS + SETTLE_SECONDS * 1000 + 120_000 + METERED_MAX_DURATION * 1000,
  );
});
