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
// Money in (issue 22): customers top up by card (a Checkout Session through the API, paid at the
// Stripe simulator, credited by its webhook) and a sixth organisation has auto-recharge on with a
// card saved by its first checkout. The schedule also takes Stripe down (POST /sandbox/outage,
// longer than the ~15 s of retries a recharge job once had) while that organisation spends below
// its threshold and more top-ups are asked for; takes the Vapi simulator down (its REST API and
// every call's control URL) while the metered calls run out of money, so `say` and `end-call`
// fail until the hang-up's retries get through; and stalls redis-server (SIGSTOP) while a top-up's
// webhook is being credited. Checks: every payment Stripe took (checkout or recharge) credited
// exactly once, by its PaymentIntent, and nothing else credited; the recharge asked for during the
// outage made after it, once; each organisation's balance = operator credits + top-ups +
// recharges − charges + refunds.
// Size and seed: CHAOS_REQUESTS, CHAOS_CALLS, CHAOS_METERED_CALLS, CHAOS_TOPUPS, CHAOS_SEED (a
// number, or 'random'; printed, so a failure can be replayed), CHAOS_SETTLE_SECONDS; the new
// faults: CHAOS_STRIPE_OUTAGE_SECONDS, CHAOS_VAPI_OUTAGE_SECONDS, CHAOS_REDIS_STALL_MS (0: off).
import { Pool } from 'pg';
import { SANDBOX_SECRETS } from '../../shared/config';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_VAPI_SECRET } from '../support/context';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { ledgerViolations } from '../support/invariants';
import { freePort, startRedisServer, type TestRedisServer } from '../support/redis-server';
import { uniquePrefix } from '../support/redis';
import { renewalLeadSeconds } from '../../shared/calls/hold-policy';
import { eventually } from '../support/eventually';
import { answers, launchScript, launchService, type ServiceProcess } from '../support/service-processes';
import { ChaosClient, seededRandom, SimulatorClient, sleep, type Reply } from './chaos-client';
import type { StripeInspection } from './stripe-side';

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
/** Card top-ups of the customers at seeded times across the load window (besides the fixed ones below). */
const TOPUPS = envInt('CHAOS_TOPUPS', 6);
/**
 * How long Stripe is out (POST /sandbox/outage, 503 to the API and the checkout page). Longer
 * than the ~15 s (five tries, 1+2+4+8 s of backoff) that a recharge's BullMQ retries once lasted,
 * so only the money outbox can bring the recharge asked for during it through. 0: no outage.
 */
const STRIPE_OUTAGE_SECONDS = envInt('CHAOS_STRIPE_OUTAGE_SECONDS', 18);
/** How long the Vapi simulator (REST API and control URLs) is out once the metered calls run out of money. 0: no outage. */
const VAPI_OUTAGE_SECONDS = envInt('CHAOS_VAPI_OUTAGE_SECONDS', 8);
/** How long redis-server is stopped (SIGSTOP) while a top-up's webhook is credited. 0: no stall. */
const REDIS_STALL_MS = envInt('CHAOS_REDIS_STALL_MS', 2500);
/** The longest the Vapi outage waits for the metered calls to be admitted, then for the first try to end one. */
const VAPI_OUTAGE_WAIT_MS = 30_000;
/** The Vapi outage begins this long (less a seeded 0–500 ms) before the earliest moment a metered call can run out of money. */
const VAPI_OUTAGE_LEAD_MS = 2000;
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
/** The hang-up's retry backoff base (the service's default CALL_HANGUP_BACKOFF_MS, not set here). */
const HANGUP_BACKOFF_MS = 1000;

/** Stripe (the sandbox simulator in the simulators process): secrets the API and workers share with it. */
const STRIPE_SECRET_KEY = 'sk_test_chaos_0123456789';
const STRIPE_WEBHOOK_SECRET = 'whsec_chaos_0123456789abcdef';
/** Pays in checkout and off-session (auto-recharge). */
const CARD = '4242424242424242';
/** Which organisations the customers' card top-ups go to: not the poor one (its 402s race) nor the metered one. */
const TOPUP_ORGS = [0, 2, 3];
/** Top-ups asked for while Stripe is out. */
const OUTAGE_TOPUPS = 2;
/**
 * The auto-recharge organisation: its first checkout (5000) saves its card, then auto-recharge is
 * on (below 3000, recharge 5000). While Stripe is out it spends 3 × 1400 on calls (1500 s each),
 * so available falls to 800 and one recharge is asked for; after it, 5800 is above the threshold
 * and nothing else spends, so exactly one recharge is due.
 */
const RECHARGE_FIRST_TOPUP = 5000;
const RECHARGE_THRESHOLD = 3000;
const RECHARGE_AMOUNT = 5000;
const RECHARGE_CALLS = 3;
const RECHARGE_CALL_SECONDS = 1500;
/** How long the client keeps asking (a top-up, a checkout page) through Stripe's outage. */
const STRIPE_PATIENCE_MS = STRIPE_OUTAGE_SECONDS * 1000 + 60_000;

/** Settings the processes run with: quick retries and sweeps so the settle period stays short. */
function serviceEnv(dbUrl: string, redisUrl: string, ports: { api: number; twilio: number; vapi: number; stripe: number }): Record<string, string> {
  return {
    PORT: String(ports.api),
    WORKERS_METRICS_PORT: '0',
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: uniquePrefix('chaos'),
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    VAPI_WEBHOOK_SECRET: TEST_VAPI_SECRET,
    SANDBOX_TWILIO_PORT: String(ports.twilio),
    SANDBOX_VAPI_PORT: String(ports.vapi),
    // Stripe: the simulator in the simulators process; its events go to the API's webhook.
    SANDBOX_STRIPE_PORT: String(ports.stripe),
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    STRIPE_API_BASE_URL: `http://127.0.0.1:${ports.stripe}`,
    STRIPE_WEBHOOK_URL: `http://127.0.0.1:${ports.api}/api/stripe/webhook`,
    // A Stripe call gives up after 4 s (and one retry), so the outbox lease (10 s: a lost job's
    // recharge is claimed again after it) stays longer than a call; retries at most 2 s apart
    // once Stripe is back; the relay polls every 200 ms.
    STRIPE_API_TIMEOUT_MS: '4000',
    MONEY_OUTBOX_LEASE_SECONDS: '10',
    AUTO_RECHARGE_RETRY_MAX_SECONDS: '2',
    MONEY_OUTBOX_POLL_MS: '200',
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

/** A card top-up, from the customer's side: asked for at the API, paid at Stripe's checkout page. */
interface TopUpRecord {
  /** load-<i>, outage-<i>, redis-stall, recharge-card */
  label: string;
  orgId: string;
  key: string;
  amount: number;
  askedAt?: number;
  /** The API's last answer to POST /api/wallet/top-ups. */
  status?: number;
  createdAt?: number;
  topUpId?: string;
  sessionId?: string;
  checkoutPath?: string;
  paid?: boolean;
  paidAt?: number;
  paymentIntentId?: string;
  error?: string;
}

/** A window in which a third party was down (ms since the epoch). */
interface Window {
  startMs: number;
  endMs: number;
}

/** A metered live call: created in the Vapi simulator, admitted by the client, ended by whoever. */
interface MeteredRecord {
  callId: string;
  created: boolean;
  admitted: boolean;
  maxDuration?: number;
  /** The client hangs up this long after admission (undefined: it waits for the service). */
  clientEndsAfterMs?: number;
  /** When the client sent its assistant-request (the service admits it after). */
  askedAt?: number;
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

describe(`chaos (seed ${SEED}, ${REQUESTS} provisions, ${CALLS} calls, ${TOPUPS} top-ups)`, () => {
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
  let stripeSim: SimulatorClient;
  let inspectUrl: string;
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
    const ports = { api: await freePort(), twilio: await freePort(), vapi: await freePort(), stripe: await freePort() };
    const inspectPort = await freePort();
    inspectUrl = `http://127.0.0.1:${inspectPort}/stripe`;
    env = serviceEnv(databaseUrl(dbName), redis.url, ports);
    twilioBase = `http://127.0.0.1:${ports.twilio}/2010-04-01/Accounts/${SANDBOX_SECRETS.TWILIO_ACCOUNT_SID}`;

    sandbox = launchScript('simulators', 'test/chaos/simulators-process.ts', [], {
      ...env,
      CHAOS_SIM_FAILURE_RATE: String(SIM_FAILURE_RATE),
      CHAOS_SIM_LATENCY_MS: String(SIM_LATENCY_MS),
      CHAOS_SIM_PURCHASE_LATENCY_MS: String(SIM_PURCHASE_LATENCY_MS),
      CHAOS_SIM_INSPECT_PORT: String(inspectPort),
    });
    spawned.push(sandbox);
    await sandbox.waitForOutput('simulators ready');
    await eventually(() => twilioAnswers(), { what: 'simulators answering', timeoutMs: 30_000, everyMs: 100, retryErrors: true });
    api = launch('api');
    await eventually(() => answers(`http://127.0.0.1:${ports.api}/readyz`), { what: 'API ready', timeoutMs: 30_000, everyMs: 100, retryErrors: true });
    workers.push(await startWorker(), await startWorker());
    client = new ChaosClient(`http://127.0.0.1:${ports.api}`, { admin: TEST_ADMIN_TOKEN, jwt: TEST_JWT_SECRET, vapi: TEST_VAPI_SECRET });
    sim = new SimulatorClient(`http://127.0.0.1:${ports.vapi}`);
    stripeSim = new SimulatorClient(`http://127.0.0.1:${ports.stripe}`);
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

  /** The test's view of Stripe (stripe-side.ts): every PaymentIntent and every webhook delivery. */
  async function inspectStripe(): Promise<StripeInspection> {
    const res = await fetch(inspectUrl, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`stripe inspection: ${res.status}`);
    return (await res.json()) as StripeInspection;
  }

  it(
    'ends every provision completed with one number or refunded once, charges every ended call once, credits every payment once, and conserves money',
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

      // --- money in. A card top-up as a customer makes it: asked for at the API (the same key
      // until Stripe answers), the checkout page opened, paid with the test card, and the session
      // read back from Stripe (a pay that timed out may have paid it).
      const topUps: TopUpRecord[] = [];
      const askTopUp = async (t: TopUpRecord, untilMs: number) => {
        t.askedAt = Date.now();
        const r: Reply = await client.topUp(t.orgId, t.key, t.amount, untilMs);
        t.status = r.status;
        if (r.status !== 201 || typeof r.body.checkoutSessionId !== 'string' || typeof r.body.checkoutUrl !== 'string') {
          t.error = `POST /api/wallet/top-ups answered ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
          return false;
        }
        t.createdAt = Date.now();
        t.topUpId = String(r.body.topUpId);
        t.sessionId = r.body.checkoutSessionId;
        t.checkoutPath = new URL(r.body.checkoutUrl).pathname;
        return true;
      };
      /** The checkout page answers (Stripe is up): what the customer's browser waits for. */
      const openCheckout = async (t: TopUpRecord, untilMs: number) => {
        const page = await stripeSim.send('GET', t.checkoutPath!, undefined, { untilMs });
        if (page.status !== 200) t.error = `checkout page answered ${page.status}`;
        return page.status === 200;
      };
      const payCheckout = async (t: TopUpRecord, untilMs: number) => {
        const id = encodeURIComponent(t.sessionId!);
        // 200 paid; 400 when an earlier try that timed out (a stalled simulator) paid it already.
        const pay = await stripeSim.send('POST', `/sandbox/checkout/sessions/${id}/pay`, { card: CARD }, { untilMs });
        const session = await stripeSim.send('GET', `/v1/checkout/sessions/${id}`, undefined, { untilMs });
        t.paid = session.status === 200 && session.body.payment_status === 'paid';
        if (!t.paid) t.error = `pay answered ${pay.status} ${JSON.stringify(pay.body).slice(0, 200)}; the session is ${JSON.stringify(session.body).slice(0, 200)}`;
        else {
          t.paidAt = Date.now();
          t.paymentIntentId = String(session.body.payment_intent);
        }
      };
      const topUpByCard = async (t: TopUpRecord, untilMs: number) => {
        topUps.push(t);
        if ((await askTopUp(t, untilMs)) && (await openCheckout(t, untilMs))) await payCheckout(t, untilMs);
      };

      // The auto-recharge organisation: its first checkout funds it and saves its card
      // (checkout.session.completed), then auto-recharge is turned on. Before the faults.
      const rechargeOrgId = await client.createOrg('Chaos recharge');
      credited.set(rechargeOrgId, 0);
      const rechargeNumber = { orgId: rechargeOrgId, e164: '+12025559100', id: `pn-chaos-${SEED}-recharge` };
      await client.registerNumber(rechargeOrgId, rechargeNumber.e164, rechargeNumber.id);
      const rechargeCard: TopUpRecord = { label: 'recharge-card', orgId: rechargeOrgId, key: `chaos-topup-${SEED}-recharge-card`, amount: RECHARGE_FIRST_TOPUP };
      await topUpByCard(rechargeCard, Date.now() + 30_000);
      if (!rechargeCard.paid) throw new Error(`the recharge organisation's first top-up failed: ${rechargeCard.error}`);
      await eventually(async () => ((await client.autoRecharge(rechargeOrgId)).body.paymentMethod ?? null) !== null, { what: 'the card saved by the first checkout', timeoutMs: 30_000, everyMs: 200 });
      const turnedOn = await client.putAutoRecharge(rechargeOrgId, { enabled: true, threshold: RECHARGE_THRESHOLD, amount: RECHARGE_AMOUNT });
      if (turnedOn.status !== 200) throw new Error(`PUT /api/wallet/auto-recharge: ${turnedOn.status} ${JSON.stringify(turnedOn.body)}`);

      // The new load and faults draw from their own seeded sequence, all drawn here, before any
      // of it runs, so the rest of a seed replays as before and these replay whatever the timing.
      const frand = seededRandom(SEED ^ 0x73747270);
      const pickTopUpOrg = () => orgIds[TOPUP_ORGS[Math.floor(frand() * TOPUP_ORGS.length)]!]!;
      const topUpAmount = () => 500 + 100 * Math.floor(frand() * 46);
      const loadTopUps = Array.from({ length: TOPUPS }, (_, i) => ({ delay: frand() * LOAD_MS, orgId: pickTopUpOrg(), amount: topUpAmount(), i }));
      const stripeOutageAt = LOAD_MS * (0.1 + frand() * 0.15);
      const rechargeCallOffsets = Array.from({ length: RECHARGE_CALLS }, () => 300 + frand() * 1200);
      const outageTopUps = Array.from({ length: OUTAGE_TOPUPS }, (_, i) => ({ offset: 500 + frand() * STRIPE_OUTAGE_SECONDS * 1000 * 0.7, orgId: pickTopUpOrg(), amount: topUpAmount(), i }));
      const redisStallAt = LOAD_MS * (0.65 + frand() * 0.1);
      const stallTopUp: TopUpRecord = { label: 'redis-stall', orgId: pickTopUpOrg(), key: `chaos-topup-${SEED}-redis-stall`, amount: topUpAmount() };
      const vapiOutageDelay = frand() * 500;
      // The top-up whose webhook meets the Redis stall is asked for now; it is paid at the stall.
      if (REDIS_STALL_MS > 0) {
        topUps.push(stallTopUp);
        await askTopUp(stallTopUp, Date.now() + 30_000);
      }

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
      /** One call as Vapi reports it: assistant-request, in-progress, then its end (report and ended, in either order). */
      const placeCall = async (callId: string, num: { orgId: string; e164: string; id: string }, seconds: number, duplicateReport: boolean, endedFirst: boolean, talkMs: number) => {
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
      };
      const callTasks = Array.from({ length: CALLS }, (_, j) => {
        const delay = rand() * LOAD_MS;
        const num = callNumbers[Math.floor(rand() * callNumbers.length)]!;
        const seconds = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 180);
        const duplicateReport = rand() < 0.3;
        const endedFirst = rand() < 0.5;
        const talkMs = Math.floor(rand() * 400);
        return (async () => {
          await sleep(delay);
          await placeCall(`call-${SEED}-${j}`, num, seconds, duplicateReport, endedFirst, talkMs);
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
          rec.askedAt = Date.now();
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

      // --- money in under load: the customers' top-ups at seeded times.
      const topUpTasks = loadTopUps.map((t) =>
        (async () => {
          await sleep(t.delay);
          await topUpByCard({ label: `load-${t.i}`, orgId: t.orgId, key: `chaos-topup-${SEED}-load-${t.i}`, amount: t.amount }, Date.now() + STRIPE_PATIENCE_MS);
        })(),
      );

      // --- the chaos: each fault starts at a seeded moment inside the load window (they may overlap).
      const when = (fraction: number) => sleep(LOAD_MS * fraction * (0.9 + rand() * 0.2));
      /** When Stripe was out, the Vapi simulator was out, the simulators were stalled, Redis was stalled. */
      let stripeOutage: Window | undefined;
      let vapiOutage: Window | undefined;
      const simulatorStalls: Window[] = [];
      let redisStall: Window | undefined;
      /** Polls `done` every 100 ms until it holds (true) or `limitMs` passes (false). */
      const waitUntil = async (done: () => boolean, limitMs: number) => {
        for (const end = Date.now() + limitMs; Date.now() < end; await sleep(100)) if (done()) return true;
        return done();
      };
      /**
       * The workers' log lines for each try to end a call through its control URL (`say` or
       * `end-call`, with its outcome), gathered from every workers process's output while it is
       * kept (each keeps its last OUTPUT_TAIL_BYTES). Returns how many were seen so far.
       */
      const controlLines = new Set<string>();
      const scanControlLines = () => {
        for (const p of spawned) if (p.role === 'workers') for (const line of p.output().split('\n')) if (line.includes('ending a call: live call control')) controlLines.add(line);
        return controlLines.size;
      };
      // Gathered all along: each process keeps only the tail of its output.
      const scanTimer = setInterval(scanControlLines, 250);
      scanTimer.unref();
      /** Starts a simulator's outage (CONTRACT §13); its window as the simulator set it (it may have been stalled when asked). */
      const outage = async (side: SimulatorClient, seconds: number): Promise<Window> => {
        const r = await side.send('POST', '/sandbox/outage', { seconds, status: 503 });
        // seconds 0 ends the outage: the answer's outage is null.
        const until = seconds === 0 ? Date.now() : Date.parse(String((r.body.outage as { until?: unknown } | null)?.until));
        if (r.status !== 200 || !Number.isFinite(until)) throw new Error(`POST /sandbox/outage answered ${r.status} ${JSON.stringify(r.body)}`);
        return { startMs: until - seconds * 1000, endMs: until };
      };
      const moneyChaos = [
        // Stripe out (API and checkout page, 503) for STRIPE_OUTAGE_SECONDS: meanwhile the
        // auto-recharge organisation spends below its threshold (a recharge is asked for) and
        // more top-ups are asked for; each must complete after the outage.
        (async () => {
          await sleep(stripeOutageAt);
          // With CHAOS_STRIPE_OUTAGE_SECONDS=0 the same spending and top-ups, with Stripe up.
          const window = STRIPE_OUTAGE_SECONDS === 0 ? { startMs: Date.now(), endMs: Date.now() } : await outage(stripeSim, STRIPE_OUTAGE_SECONDS);
          if (STRIPE_OUTAGE_SECONDS > 0) stripeOutage = window;
          log(`Stripe outage for ${STRIPE_OUTAGE_SECONDS} s (503): the recharge organisation spends ${RECHARGE_CALLS} × ${contractCharge(RECHARGE_CALL_SECONDS)} on calls, ${OUTAGE_TOPUPS} top-ups asked for`);
          const since = Date.now();
          await Promise.all([
            ...rechargeCallOffsets.map(async (offset, k) => {
              await sleep(offset);
              await placeCall(`recharge-${SEED}-${k}`, rechargeNumber, RECHARGE_CALL_SECONDS, false, false, 0);
            }),
            ...outageTopUps.map(async (t) => {
              await sleep(Math.max(0, t.offset - (Date.now() - since)));
              await topUpByCard({ label: `outage-${t.i}`, orgId: t.orgId, key: `chaos-topup-${SEED}-outage-${t.i}`, amount: t.amount }, Date.now() + STRIPE_PATIENCE_MS);
            }),
            (async () => {
              if (STRIPE_OUTAGE_SECONDS === 0) return;
              await sleep(Math.max(0, window.endMs - Date.now()));
              log('Stripe outage over');
            })(),
          ]);
        })(),
        // The Vapi simulator out (REST API and every call's control URL) while the metered calls
        // run out of money, so their `say` and `end-call` fail until the hang-up's retries get
        // through. When they run out depends on the other faults (a renewal is a worker's job), so
        // the outage starts once every metered call has been admitted, before any can run out, and
        // ends VAPI_OUTAGE_SECONDS after the service's first try to end one (the workers' own log
        // line for it); if none comes within VAPI_OUTAGE_WAIT_MS, it ends then.
        (async () => {
          if (VAPI_OUTAGE_SECONDS === 0) return;
          if (METERED_CALLS === 0) {
            await sleep(LOAD_MS * 0.5);
            vapiOutage = await outage(sim, VAPI_OUTAGE_SECONDS);
            log(`Vapi outage for ${VAPI_OUTAGE_SECONDS} s (503 on the REST API and every control URL)`);
            await sleep(Math.max(0, vapiOutage.endMs - Date.now()));
            log('Vapi outage over');
            return;
          }
          await waitUntil(() => metered.length === METERED_CALLS && metered.every((m) => m.admitted || !m.created || m.clientEnded !== undefined), VAPI_OUTAGE_WAIT_MS);
          // No renewal can fail before HOLD_SECONDS − lead after the earliest admission (which the
          // client's assistant-request preceded): begin a little before, so the outage is no
          // longer than it needs to be (it also refuses the provisioning workers' Vapi imports).
          const asked = metered.flatMap((m) => (m.askedAt === undefined ? [] : [m.askedAt]));
          const runOutNotBefore = asked.length === 0 ? Date.now() : Math.min(...asked) + (HOLD_SECONDS - renewalLeadSeconds(HOLD_SECONDS)) * 1000;
          await sleep(Math.max(0, runOutNotBefore - VAPI_OUTAGE_LEAD_MS - Date.now()) + vapiOutageDelay);
          const first = await outage(sim, VAPI_OUTAGE_WAIT_MS / 1000 + VAPI_OUTAGE_SECONDS);
          log('Vapi outage begins (503 on the REST API and every control URL), before any metered call runs out of money');
          const tried = await waitUntil(() => scanControlLines() > 0, VAPI_OUTAGE_WAIT_MS);
          const last = await outage(sim, tried ? VAPI_OUTAGE_SECONDS : 0);
          vapiOutage = { startMs: first.startMs, endMs: tried ? last.endMs : Date.now() };
          log(tried ? `the service tries to end a metered call; the Vapi outage ends in ${VAPI_OUTAGE_SECONDS} s` : `no metered call ran out within ${VAPI_OUTAGE_WAIT_MS} ms; Vapi outage ended`);
          await sleep(Math.max(0, vapiOutage.endMs - Date.now()));
          scanControlLines();
          log('Vapi outage over');
        })(),
        // redis-server stopped (SIGSTOP) while a top-up's webhook is credited: when Stripe answers
        // (the checkout page opens), the API is ready and Redis runs, stop Redis, pay the top-up
        // (the simulator delivers its events to the API now), and let Redis go after the stall.
        (async () => {
          if (REDIS_STALL_MS === 0 || stallTopUp.checkoutPath === undefined) return;
          await sleep(redisStallAt);
          if (!(await openCheckout(stallTopUp, Date.now() + STRIPE_PATIENCE_MS))) return;
          await eventually(async () => redis.running() && (await answers(`${client.baseUrl}/readyz`)), { what: 'API and Redis up for the stall', timeoutMs: 60_000, everyMs: 100, retryErrors: true });
          const startMs = Date.now();
          if (!redis.pause()) {
            log('redis-server not running at the stall; top-up paid without it');
            await payCheckout(stallTopUp, Date.now() + STRIPE_PATIENCE_MS);
            return;
          }
          log(`SIGSTOP redis-server for ${REDIS_STALL_MS} ms; top-up ${stallTopUp.topUpId} paid now`);
          const paying = payCheckout(stallTopUp, Date.now() + STRIPE_PATIENCE_MS);
          await sleep(REDIS_STALL_MS);
          redis.resume();
          redisStall = { startMs, endMs: Date.now() };
          log('SIGCONT redis-server');
          await paying;
          log(`stalled top-up ${stallTopUp.paid ? 'paid' : 'NOT paid'} (pay answered ${Date.now() - startMs} ms after the stall began)`);
        })(),
      ];
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
          const startMs = Date.now();
          sandbox.pause();
          await sleep(3000);
          sandbox.resume();
          simulatorStalls.push({ startMs, endMs: Date.now() });
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

      await Promise.all([...provisionTasks, ...callTasks, ...meteredTasks, ...topUpTasks, ...chaos, ...moneyChaos]);
      log('load finished; settling');

      // --- settle: every accepted request final, every admitted call charged, within the limit.
      const accepted = provisions.filter((p) => p.status === 202);
      const finalStatus = new Map<string, Record<string, unknown>>();
      const admitted = calls.filter((c) => c.admitted);
      const chargedCalls = async () =>
        (await pool.query<{ key: string; n: number }>("select idempotency_key as key, count(*)::int as n from ledger_entries where kind = 'call' group by 1")).rows;
      // Money in: the recharge organisation fell below its threshold (by the client's own tally)
      // if its calls' charges took its first top-up under it; then one recharge must come.
      const rechargeSpent = calls.filter((c) => c.orgId === rechargeOrgId && c.admitted).reduce((sum, c) => sum + contractCharge(c.seconds), 0);
      const rechargeNeeded = RECHARGE_FIRST_TOPUP - rechargeSpent < RECHARGE_THRESHOLD;
      const isRecharge = (pi: StripeInspection['paymentIntents'][number]) => pi.metadata.kind === 'auto_recharge' && pi.metadata.orgId === rechargeOrgId;
      /** PaymentIntent ids the ledger credits (kind topup, key topup:pi:<id>). */
      const creditedPaymentIntents = async () =>
        new Set((await pool.query<{ reference: string }>("select reference from ledger_entries where kind = 'topup' and idempotency_key like 'topup:pi:%'")).rows.map((r) => r.reference));
      /** Every payment Stripe took is credited, every paid top-up too, and the recharge that is due has been made. */
      const moneyInSettled = async () => {
        const stripe = await inspectStripe();
        const creditedPis = await creditedPaymentIntents();
        return (
          stripe.paymentIntents.every((pi) => pi.status !== 'succeeded' || creditedPis.has(pi.id)) &&
          topUps.every((t) => !t.paid || creditedPis.has(t.paymentIntentId!)) &&
          (!rechargeNeeded || stripe.paymentIntents.some((pi) => isRecharge(pi) && pi.status === 'succeeded'))
        );
      };
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
              metered.every((m) => !m.created || charged.has(`call:${m.callId}`)) &&
              (await moneyInSettled())
            );
          },
          {
            what: 'every accepted request completed or refunded, every admitted call and every metered call charged, every payment credited and the due recharge made',
            timeoutMs: SETTLE_SECONDS * 1000,
            everyMs: 500,
            retryErrors: true,
          },
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
      const ended = { service: 0, caller: 0, maxDuration: 0, maxDurationInVapiOutage: 0, other: 0 };
      // While Vapi's control URLs are out, nothing can end a call: the service's tries are refused
      // and the hang-up is retried with backoff, so the first try after the outage may come as
      // late as 1.25 × the time it has been failing (exponential, jittered down) plus the base,
      // and a worker's pickup (3 s). Until then a call talks on, and may reach its maxDurationSeconds.
      const vapiReach = vapiOutage ? vapiOutage.endMs + 1.25 * (vapiOutage.endMs - vapiOutage.startMs) + HANGUP_BACKOFF_MS + 3000 : -Infinity;
      const control = { say: 0, endCall: 0, afterEnd: 0, afterVapiOutage: 0 };
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
          if (vapiOutage && Date.parse(r.receivedAt) >= vapiOutage.endMs) control.afterVapiOutage++;
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
          const endedAtMs = Date.parse(String(call.endedAt));
          // Legitimate when its holds paid for the whole granted duration (renewed to its cap), or
          // when it reached that duration while the Vapi outage kept the service from ending it.
          const inVapiOutage = vapiOutage !== undefined && endedAtMs >= vapiOutage.startMs && endedAtMs <= vapiReach;
          if (inVapiOutage) ended.maxDurationInVapiOutage++;
          if (!inVapiOutage && (!row || row.held_seconds === null || m.maxDuration === undefined || row.held_seconds < m.maxDuration))
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
      // one slice per call then live below zero. "Then" = the first `say` the simulator received
      // or, when the Vapi outage refused it, the service's first try to end a call (the workers'
      // log line's time).
      clearInterval(scanTimer);
      scanControlLines();
      const lineTime = (line: string) => {
        try {
          return Number((JSON.parse(line) as { time?: unknown }).time);
        } catch {
          return NaN; // a line cut at the start of a kept tail
        }
      };
      const firstTry = Math.min(...[...controlLines].map(lineTime).filter(Number.isFinite));
      const runOutAt = Math.min(firstSayAt, firstTry);
      const liveAtRunOut = Number.isFinite(runOutAt) ? meteredSpans.filter((c) => c.startedAt <= runOutAt && c.endedAt > runOutAt).length : 0;
      // A control-URL outage adds what the calls talk while no `say` or `end-call` can reach them:
      // the part of each call from the money running out (no call talks unpaid before a renewal
      // is refused, and the first refusal is the first try to end a call) or the outage's start,
      // whichever is later, up to the hang-up's next retry after the outage (vapiReach).
      let vapiAllowance = 0;
      let liveAfterVapiOutage = 0;
      if (vapiOutage) {
        const from = Math.max(vapiOutage.startMs, Number.isFinite(runOutAt) ? runOutAt : vapiOutage.startMs);
        for (const c of meteredSpans) {
          const ms = Math.min(c.endedAt, vapiReach) - Math.max(c.startedAt, from);
          if (ms > 0) vapiAllowance += chargeForMs(ms);
          if (c.startedAt < vapiOutage.endMs && c.endedAt > vapiOutage.endMs) liveAfterVapiOutage++;
        }
      }
      const overdraftBound = -liveAtRunOut * SLICE - vapiAllowance;
      const meteredBalance = Number((await pool.query<{ balance: string }>('select balance::text from wallets where org_id = $1', [meteredOrgId])).rows[0]?.balance);
      if (!(meteredBalance >= overdraftBound))
        problems.push(`out-of-money org ends at ${meteredBalance}, below ${overdraftBound} (one slice of ${SLICE} for each of the ${liveAtRunOut} calls live when its money ran out, and ${vapiAllowance} talked through the Vapi outage)`);
      if (METERED_CALLS > 0 && ended.service === 0) problems.push('the service ended none of the metered calls (no call ran out of money?)');

      // --- money in: what Stripe took against what the ledger credits, by PaymentIntent.
      const stripe = await inspectStripe();
      const stripeCredits = await pool.query<{ reference: string; org_id: string; n: number; amount: string; first_at: Date }>(
        "select reference, org_id, count(*)::int as n, sum(amount)::text as amount, min(created_at) as first_at from ledger_entries where kind = 'topup' and idempotency_key like 'topup:pi:%' group by reference, org_id",
      );
      const creditsOf = new Map<string, typeof stripeCredits.rows>();
      for (const r of stripeCredits.rows) creditsOf.set(r.reference, [...(creditsOf.get(r.reference) ?? []), r]);
      const succeeded = new Map(stripe.paymentIntents.filter((pi) => pi.status === 'succeeded').map((pi) => [pi.id, pi]));
      // Every payment Stripe took (a checkout or a recharge) credited exactly once, to its organisation, for its amount.
      for (const pi of succeeded.values()) {
        const rows = creditsOf.get(pi.id) ?? [];
        const kind = pi.metadata.kind ?? 'payment';
        if (rows.length === 0) problems.push(`Stripe took ${pi.amount} (${kind} ${pi.id}, org ${pi.metadata.orgId}) but the ledger never credited it`);
        else if (rows.length !== 1 || rows[0]!.n !== 1 || Number(rows[0]!.amount) !== pi.amount || rows[0]!.org_id !== pi.metadata.orgId)
          problems.push(`${kind} ${pi.id} (${pi.amount} for org ${pi.metadata.orgId}) credited as ${JSON.stringify(rows.map((r) => ({ org: r.org_id, entries: r.n, amount: r.amount })))}`);
      }
      // And nothing credited that Stripe did not take.
      for (const r of stripeCredits.rows) if (!succeeded.has(r.reference)) problems.push(`the ledger credits ${r.amount} to org ${r.org_id} for ${r.reference}, which Stripe did not take`);
      // Every top-up the client asked for: created, paid, credited once (above), and the API says so.
      const toppedUp = new Map<string, number>();
      for (const t of topUps) {
        const label = `top-up ${t.label} (${t.amount} for org ${t.orgId})`;
        if (!t.paid || t.paymentIntentId === undefined) {
          problems.push(`${label} did not complete: ${t.error ?? 'unknown'}`);
          continue;
        }
        toppedUp.set(t.orgId, (toppedUp.get(t.orgId) ?? 0) + t.amount);
        if (!succeeded.has(t.paymentIntentId)) problems.push(`${label}: its session is paid but Stripe has no succeeded ${t.paymentIntentId}`);
        const status = await client.topUpStatus(t.orgId, t.topUpId!);
        if (status.status !== 200 || status.body.status !== 'paid' || status.body.credited !== t.amount) problems.push(`${label}: GET /api/wallet/top-ups/${t.topUpId} says ${status.status} ${JSON.stringify(status.body)}`);
      }
      // A 502 payment_provider_unavailable is the contract's answer only while Stripe cannot be
      // reached: its outage, or the simulators' stall (a request sent shortly before either met it).
      const stripeDown = [...(stripeOutage ? [stripeOutage] : []), ...simulatorStalls];
      const topUp502s = client.tally.providerUnavailable;
      for (const e of topUp502s) {
        if (!stripeDown.some((w) => e.sentAt <= w.endMs + 500 && e.at >= w.startMs)) problems.push(`502 while Stripe was up (sent at ${((e.sentAt - started) / 1000).toFixed(1)}s): ${e.line}`);
      }
      // Stripe's webhook deliveries: no answer (the API down) is retried; a 4xx or 5xx is the service's.
      const refusedDeliveries = stripe.deliveries.filter((d) => d.status >= 400);
      for (const d of refusedDeliveries.slice(0, 10)) problems.push(`the webhook answered ${d.status} to ${d.type} ${d.id}${d.resent ? ' (re-sent)' : ''}`);
      // Auto-recharge: one PaymentIntent per recharge, credited once (above); exactly one recharge
      // when the calls took the wallet under its threshold, made after Stripe's outage; still on.
      const recharges = stripe.paymentIntents.filter(isRecharge);
      const perRecharge = new Map<string, number>();
      for (const pi of recharges) perRecharge.set(pi.metadata.topUpId ?? '', (perRecharge.get(pi.metadata.topUpId ?? '') ?? 0) + 1);
      for (const [topUpId, n] of perRecharge) if (n !== 1) problems.push(`recharge ${topUpId} has ${n} PaymentIntents at Stripe`);
      const rechargesPaid = recharges.filter((pi) => pi.status === 'succeeded');
      const recharged = rechargesPaid.reduce((sum, pi) => sum + pi.amount, 0);
      if (rechargesPaid.length !== (rechargeNeeded ? 1 : 0))
        problems.push(`${rechargesPaid.length} recharges paid, expected ${rechargeNeeded ? 1 : 0} (the calls spent ${rechargeSpent} of ${RECHARGE_FIRST_TOPUP}, threshold ${RECHARGE_THRESHOLD}; statuses ${JSON.stringify(recharges.map((pi) => pi.status))})`);
      if (stripeOutage) for (const pi of rechargesPaid) if (pi.created * 1000 < stripeOutage.endMs - 1000) problems.push(`recharge ${pi.id} was made during Stripe's outage (created ${pi.created})`);
      const rechargeSettings = await client.autoRecharge(rechargeOrgId);
      if (rechargeSettings.status !== 200 || rechargeSettings.body.enabled !== true) problems.push(`auto-recharge is not on after the outage: ${JSON.stringify(rechargeSettings.body)}`);
      const rechargeRows = await pool.query<{ created_at: Date; done_at: Date | null; attempts: number; last_error: string | null }>(
        "select created_at, done_at, attempts, last_error from money_outbox where org_id = $1 and task = 'auto_recharge' order by id",
        [rechargeOrgId],
      );

      const admittedKeys = new Set([...admitted.map((c) => `call:${c.callId}`), ...metered.filter((m) => m.admitted).map((m) => `call:${m.callId}`)]);
      for (const r of callEntries.rows) if (!admittedKeys.has(r.key)) problems.push(`ledger charges ${r.key}, which was never admitted`);
      for (const c of calls) for (const s of c.webhookStatuses) if (s !== 200) problems.push(`call ${c.callId}: webhook answered ${s}`);
      // Money: from the client's own tally, per organisation and in total.
      const balances = await pool.query<{ org_id: string; balance: string }>('select org_id, balance::text from wallets');
      let expectedTotal = 0;
      let actualTotal = 0;
      for (const orgId of [...orgIds, meteredOrgId, rechargeOrgId]) {
        const paid = accepted.filter((p) => p.orgId === orgId).length * PRICE;
        const refunded = accepted.filter((p) => p.orgId === orgId && finalStatus.get(p.requestId!)?.status === 'refunded').length * PRICE;
        const callCharges =
          admitted.filter((c) => c.orgId === orgId).reduce((sum, c) => sum + (expectedCharge.get(c.callId) ?? 0), 0) + (orgId === meteredOrgId ? meteredCharges : 0);
        // Credited: the operator's credits, the client's paid top-ups, and the recharges Stripe took.
        const topUpsIn = toppedUp.get(orgId) ?? 0;
        const rechargesIn = orgId === rechargeOrgId ? recharged : 0;
        const expected = credited.get(orgId)! + topUpsIn + rechargesIn - paid + refunded - callCharges;
        const actual = Number(balances.rows.find((b) => b.org_id === orgId)?.balance);
        expectedTotal += expected;
        actualTotal += actual;
        if (expected !== actual)
          problems.push(`org ${orgId}: balance ${actual}, expected ${expected} (credited ${credited.get(orgId)}, top-ups ${topUpsIn}, recharges ${rechargesIn}, paid ${paid}, refunded ${refunded}, calls ${callCharges})`);
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
          for (const orgId of [...orgIds, meteredOrgId, rechargeOrgId]) {
            const w = await client.wallet(orgId);
            if (w.status !== 200 || w.body.available !== w.body.balance) walletGaps.push(`org ${orgId}: GET /api/wallet ${w.status} ${JSON.stringify(w.body)}`);
          }
          return walletGaps.length === 0;
        },
        { what: 'available == balance in every wallet', timeoutMs: 15_000, everyMs: 500, retryErrors: true },
      ).catch(() => undefined);
      problems.push(...walletGaps.map((g) => `a hold still counts after every call settled: ${g}`));

      // --- the printed report.
      function moneyInReport(): string[] {
        const rel = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '?' : `${((ms - started) / 1000).toFixed(1)}s`);
        const creditedAt = (pi: string | undefined) => (pi === undefined ? undefined : creditsOf.get(pi)?.[0]?.first_at.getTime());
        const window = (w: Window | undefined) => (w ? `${rel(w.startMs)}–${rel(w.endMs)}` : 'off');
        const duringOutage = topUps.filter((t) => stripeOutage && t.askedAt !== undefined && t.askedAt >= stripeOutage.startMs && t.askedAt < stripeOutage.endMs);
        const row = rechargeRows.rows[0];
        const pi = rechargesPaid[0];
        const noAnswer = stripe.deliveries.filter((d) => d.status === 0 && !d.resent).length;
        const resent = stripe.deliveries.filter((d) => d.resent);
        const stallCredit = creditedAt(stallTopUp.paymentIntentId);
        return [
          `money in: ${topUps.length} card top-ups, ${topUps.filter((t) => t.paid).length} paid, ${[...toppedUp.values()].reduce((a, b) => a + b, 0)} credited; ${succeeded.size} payments at Stripe, ${stripeCredits.rows.length} credited`,
          `  Stripe outage ${window(stripeOutage)} (${STRIPE_OUTAGE_SECONDS} s); top-ups asked during it: ${duringOutage.map((t) => `${t.label} asked ${rel(t.askedAt)}, created ${rel(t.createdAt)}, paid ${rel(t.paidAt)}, credited ${rel(creditedAt(t.paymentIntentId))}`).join('; ') || 'none'}; ${topUp502s.length} answers 502 payment_provider_unavailable`,
          `  auto-recharge (times to the second at Stripe): calls spent ${rechargeSpent} of ${RECHARGE_FIRST_TOPUP} (below ${RECHARGE_THRESHOLD}: ${rechargeNeeded ? 'yes' : 'no'}); ${rechargeRows.rows.length} recharge rows${row ? `, the first asked ${rel(row.created_at.getTime())}, ${row.attempts} attempts, last error ${row.last_error === null ? 'none' : JSON.stringify(row.last_error.slice(0, 90))}, done ${rel(row.done_at?.getTime())}` : ''}; ${rechargesPaid.length} paid${pi ? ` (PaymentIntent made ${rel(pi.created * 1000)}, credited ${rel(creditedAt(pi.id))})` : ''}`,
          `  Stripe webhooks: ${stripe.events} events, ${noAnswer} first deliveries without an answer, ${resent.length} re-sent by Stripe's retries (${resent.filter((d) => d.status >= 200 && d.status < 300).length} answered 2xx), ${refusedDeliveries.length} refused`,
          `  Redis stall ${window(redisStall)}: top-up ${stallTopUp.topUpId ?? '-'} ${stallTopUp.paid ? `paid, credited ${rel(stallCredit)}${redisStall && stallCredit !== undefined ? (stallCredit <= redisStall.endMs ? ' (during the stall)' : ' (after it)') : ''}` : 'not paid'}`,
          `Vapi outage ${window(vapiOutage)} (ends ${VAPI_OUTAGE_SECONDS} s after the first try to end a call): the workers logged ${controlLines.size} tries to end a call, ${[...controlLines].filter((l) => l.includes('"outcome":"failed"')).length} failed; ${liveAfterVapiOutage} metered calls live when it ended, ${control.afterVapiOutage} control messages after it; overdraft allowance for it ${vapiAllowance}`,
        ];
      }
      const count = (pred: (p: ProvisionRecord) => boolean) => provisions.filter(pred).length;
      const lines = [
        `chaos report — seed ${SEED}, ${REQUESTS} provisions, ${CALLS} calls, ${TOPUPS} top-ups, load ${LOAD_MS} ms, Redis wiped ${REDIS_WIPE}, total ${at()}`,
        `events:\n  ${events.join('\n  ')}`,
        `provisions: ${count((p) => p.status === 202)} accepted, ${count((p) => p.status === 402)} refused (402), ${count((p) => p.status !== 202 && p.status !== 402)} other`,
        ...AREA_CODES.map(([code]) => {
          const mine = accepted.filter((p) => p.areaCode === code).map((p) => finalStatus.get(p.requestId!));
          const attempts = mine.map((s) => Number(s?.attempts)).join(',');
          return `  ${code}: ${mine.filter((s) => s?.status === 'completed').length} completed, ${mine.filter((s) => s?.status === 'refunded').length} refunded; attempts [${attempts}]`;
        }),
        `numbers held in the simulator: ${held.length}`,
        `calls: ${admitted.length} admitted, ${calls.length - admitted.length} refused, ${callEntries.rows.length} charged (metered included), ${implausibleReports} implausible reports billed by the service's records`,
        `metered calls: org with ${METERED_BALANCE} (${METERED_CALLS + METERED_EXTRA_SLICES} slices of ${SLICE} = ${HOLD_SECONDS} s): ${metered.filter((m) => m.created).length} created, ${metered.filter((m) => m.admitted).length} admitted; ended by the service ${ended.service}, by the caller ${ended.caller} (${metered.filter((m) => m.clientEndsAfterMs !== undefined).length} planned), at maxDuration ${ended.maxDuration} (in the Vapi outage: ${ended.maxDurationInVapiOutage}, fully paid: ${metered.filter((m) => m.maxDuration !== undefined && (meteredRow.get(m.callId)?.held_seconds ?? -1) >= m.maxDuration).length}), other ${ended.other}`,
        `  service: ${control.say} say+endCallAfterSpoken, ${control.endCall} end-call (${control.afterEnd} of them reached an already ended call), ${renewals} renewals (slices beyond the first); settled by ${[...settledBy].map(([k, n]) => `${k} ${n}`).join(', ')}`,
        `  charges ${meteredCharges}; balance ${meteredBalance} (bound ≥ ${overdraftBound}: ${liveAtRunOut} calls live when the money ran out${Number.isFinite(runOutAt) ? ` at ${((runOutAt - started) / 1000).toFixed(1)}s` : ''}, ${vapiAllowance} for the Vapi outage); simulator requests retried ${sim.tally.retried}`,
        ...moneyInReport(),
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
    // Load window + settle + process restarts + the outages and the money-in setup, bounded.
    LOAD_MS + SETTLE_SECONDS * 1000 + 120_000 + METERED_MAX_DURATION * 1000 + (STRIPE_OUTAGE_SECONDS + VAPI_OUTAGE_SECONDS) * 1000 + 30_000,
  );
});
