// The only reader of process.env. Every limit the service keeps is a named setting here, with
// its unit in the name; a missing or malformed one stops the process with one line naming it.
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Development secrets used only in sandbox mode (no TWILIO_ACCOUNT_SID); printed at start. */
export const SANDBOX_SECRETS = {
  ADMIN_TOKEN: 'sandbox-admin-token',
  SUPABASE_JWT_SECRET: 'sandbox-jwt-secret-change-me-0123456789abcdef',
  VAPI_WEBHOOK_SECRET: 'sandbox-vapi-secret',
  VAPI_API_KEY: 'sandbox-vapi-key',
  TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
  TWILIO_AUTH_TOKEN: 'sandbox-twilio-token',
  STRIPE_SECRET_KEY: 'sk_test_sandbox_0123456789',
  STRIPE_WEBHOOK_SECRET: 'whsec_sandbox_0123456789abcdef',
} as const;

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const url = z.string().url('must be a URL');
const secret = z.string().min(8, 'must be at least 8 characters');

const envSchema = z.object({
  PORT: int(1, 65535).default(3000),
  // A workers process (`start:workers`) serves /metrics, /healthz and /readyz here; 0 = a port the OS picks.
  WORKERS_METRICS_PORT: int(0, 65535).default(9464),
  DATABASE_URL: url.optional(),
  REDIS_URL: url.default('redis://127.0.0.1:6379'),
  // A Redis Cluster's seed nodes (CONTRACT §13): set, the service runs on the cluster and
  // REDIS_URL is not used. Every key and queue is hash-tagged (shared/redis.ts), so the layout is
  // the same on one Redis and on a cluster. Any reachable master or replica seeds the slot map.
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}:\d{1,5}(,[A-Za-z0-9.-]{1,253}:\d{1,5})*$/, 'must be a comma-separated list of host:port, e.g. 10.0.0.1:6379,10.0.0.2:6379')
    .refine((v) => clusterNodes(v).every((n) => n.port >= 1 && n.port <= 65535), 'must have ports between 1 and 65535')
    .optional(),
  SUPABASE_URL: url.optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  SUPABASE_JWT_SECRET: secret.optional(),
  SUPABASE_JWKS_URL: url.optional(),
  VAPI_WEBHOOK_SECRET: secret.optional(),
  VAPI_WEBHOOK_HMAC_SECRET: secret.optional(),
  VAPI_WEBHOOK_MAX_SKEW_SECONDS: int(1, 3600).default(300),
  VAPI_API_KEY: z.string().min(1).optional(),
  VAPI_API_BASE_URL: url.optional(),
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC + 32 hex').optional(),
  TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  TWILIO_API_BASE_URL: url.optional(),
  PUBLIC_BASE_URL: url.optional(),
  ADMIN_TOKEN: secret.optional(),
  PHONE_NUMBER_PRICE: int(1, 100_000_000).default(1000),
  // Prices of a phone number in currencies other than CURRENCY, e.g. "usd:1300,eur:1150" (minor
  // units). A wallet in a currency priced nowhere is refused (422 currency_not_priced).
  PHONE_NUMBER_PRICES: z
    .string()
    .regex(/^[a-z]{3}:[1-9][0-9]{0,8}(,[a-z]{3}:[1-9][0-9]{0,8})*$/, 'must be a comma-separated list of currency:price, e.g. usd:1300,eur:1150')
    .optional(),
  // Monthly number rental (issue 24, CONTRACT §11): the rent of a number per month in CURRENCY, and
  // in other currencies like PHONE_NUMBER_PRICES; every currency a number can be bought in must
  // have a rent too (checked below). A number not paid for NUMBER_GRACE_DAYS after it fell due is
  // released; the rent sweep runs every RENT_INTERVAL_MS (at most a day: past-due numbers are
  // tried again at least daily, and after every credit).
  PHONE_NUMBER_MONTHLY_PRICE: int(1, 100_000_000).default(1000),
  PHONE_NUMBER_MONTHLY_PRICES: z
    .string()
    .regex(/^[a-z]{3}:[1-9][0-9]{0,8}(,[a-z]{3}:[1-9][0-9]{0,8})*$/, 'must be a comma-separated list of currency:price, e.g. usd:1300,eur:1150')
    .optional(),
  NUMBER_GRACE_DAYS: int(0, 90).default(7),
  RENT_INTERVAL_MS: int(1000, 86_400_000).default(3_600_000),
  CALL_MIN_BALANCE: int(0, 100_000_000).default(79),
  CALL_RATE_PER_MINUTE: int(1, 1_000_000).default(56),
  CALL_SAFETY_MARGIN_SECONDS: int(0, 600).default(5),
  CALL_HOLD_GRACE_SECONDS: int(0, 86_400).default(300),
  CALL_GATE_REDIS_TIMEOUT_MS: int(1, 5000).default(150),
  // The gate's Redis circuit breaker (issue 15, shared/calls/redis-breaker.ts).
  CALL_GATE_BREAKER_FAILURES: int(1, 1000).default(5),
  CALL_GATE_BREAKER_COOL_DOWN_MS: int(50, 600_000).default(1000),
  CALL_GATE_FAIL_MODE: z.enum(['closed', 'open']).default('closed'),
  // Call gate (issue 4): limits of the webhook, the number cache, fail-open and the call sweeper.
  CALL_GATE_FAIL_OPEN_MAX_DURATION_SECONDS: int(10, 43_200).default(60),
  CALL_NUMBER_CACHE_TTL_SECONDS: int(1, 86_400).default(300),
  CALL_GATE_DATABASE_TIMEOUT_MS: int(10, 5000).default(2000),
  CALL_GATE_DECISION_DEADLINE_MS: int(100, 7000).default(5000),
  CALL_SWEEP_BATCH_SIZE: int(1, 1000).default(100),
  // Metered calls (issue 10): the hold policy, the slice a metered call holds and renews, and the
  // hosts whose monitor.controlUrl the service may call to end a call that ran out of money.
  CALL_HOLD_POLICY: z.enum(['metered', 'full']).default('metered'),
  CALL_HOLD_SECONDS: int(10, 43_200).default(120),
  VAPI_CONTROL_HOSTS: z
    .string()
    .regex(/^(\*\.)?[a-z0-9.-]+(,(\*\.)?[a-z0-9.-]+)*$/, 'must be a comma-separated list of host names, each optionally starting with *.')
    .default('*.vapi.ai'),
  // Ending a call that ran out of money (issue 22): a failed end-call is tried again this many
  // times in all, with exponential backoff from this base (1 s: the last try ~8.5 min after the
  // first), until the call's control URL accepts it or the call is known ended; then it is counted.
  CALL_HANGUP_ATTEMPTS: int(1, 50).default(10),
  CALL_HANGUP_BACKOFF_MS: int(10, 600_000).default(1000),
  VAPI_WEBHOOK_BODY_LIMIT_BYTES: int(1024, 50_000_000).default(5_000_000),
  VAPI_API_TIMEOUT_MS: int(100, 60_000).default(5000),
  // Outbound calls (issue 23, CONTRACT §10): the platform's cap on outbound calls in progress
  // (Vapi's account concurrency); unset = none. Inbound calls are never refused for it.
  VAPI_CONCURRENCY_LIMIT: int(1, 1_000_000).optional(),
  // Per-request limit of the Twilio SDK; a purchase that takes longer counts as "may have happened".
  TWILIO_API_TIMEOUT_MS: int(100, 60_000).default(15_000),
  // The number reconciler (issue 13): how often it compares Twilio and Vapi with the database, and
  // how old a number must be before it may be released (a purchase still being recorded is younger).
  RECONCILE_INTERVAL_MS: int(100, 86_400_000).default(300_000),
  RECONCILE_GRACE_SECONDS: int(0, 86_400).default(600),
  CURRENCY: z.string().regex(/^[a-z]{3}$/, 'must be a lower-case ISO currency code').default('gbp'),
  PROVISION_MAX_ATTEMPTS: int(1, 50).default(5),
  PROVISION_BACKOFF_MS: int(1, 3_600_000).default(2000),
  SWEEP_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  STUCK_REQUEST_AFTER_SECONDS: int(1, 86_400).default(120),
  BALANCE_CACHE_TTL_SECONDS: int(1, 86_400).default(3600),
  HTTP_BODY_LIMIT_BYTES: int(1024, 10_000_000).default(1_000_000),
  // The billing page (CONTRACT §9): which origins may embed /billing in a frame (CSP frame-ancestors).
  BILLING_PAGE_FRAME_ANCESTORS: z
    .string()
    .regex(/^('none'|('self'|https:\/\/[A-Za-z0-9.*-]+(:\d{1,5})?)( ('self'|https:\/\/[A-Za-z0-9.*-]+(:\d{1,5})?))*)$/, "must be 'none', or 'self' and/or https origins separated by spaces")
    .default("'self'"),
  SHUTDOWN_DEADLINE_MS: int(100, 600_000).default(10_000),
  // Failed authentication attempts one source address may make per minute, per surface, across
  // all API processes (api/middleware/rate-limit.ts). Authenticated requests are never counted.
  AUTH_FAILURES_PER_MINUTE: int(1, 1_000_000).default(100),
  // How long a worker's job lock lasts before the job counts as stalled and runs elsewhere.
  JOB_LOCK_DURATION_MS: int(1000, 600_000).default(30_000),
  // Money in (issue 11, CONTRACT §7): Stripe, the bounds of one top-up, the recharge cooldown,
  // and the limits of the outbox relay and of event delivery to customers' webhooks.
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_[A-Za-z0-9_]{8,250}$/, 'must be a Stripe secret key (sk_... or rk_...)').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9_]{8,250}$/, 'must be a Stripe webhook secret (whsec_...)').optional(),
  STRIPE_API_BASE_URL: url.optional(),
  STRIPE_WEBHOOK_URL: url.optional(),
  STRIPE_API_TIMEOUT_MS: int(100, 80_000).default(10_000),
  // Missed webhooks (shared/money-in/stripe-catch-up.ts): how often Stripe's event list is read,
  // how far back the first read goes, and how old an event must be before it is (its webhook has
  // had that long to arrive).
  STRIPE_CATCH_UP_INTERVAL_MS: int(1000, 86_400_000).default(300_000),
  STRIPE_CATCH_UP_WINDOW_SECONDS: int(60, 30 * 86_400).default(3 * 86_400),
  STRIPE_CATCH_UP_SETTLE_SECONDS: int(0, 3600).default(60),
  TOPUP_MIN_AMOUNT: int(1, 100_000_000).default(500),
  TOPUP_MAX_AMOUNT: int(1, 100_000_000).default(100_000),
  AUTO_RECHARGE_COOLDOWN_SECONDS: int(0, 86_400).default(60),
  // The longest wait between two tries of a recharge Stripe did not answer (an outage); the
  // outbox backs off 1, 2, 4 … seconds up to this (money_outbox_retry).
  AUTO_RECHARGE_RETRY_MAX_SECONDS: int(1, 3600).default(300),
  MONEY_OUTBOX_POLL_MS: int(10, 60_000).default(500),
  // How long a claimed outbox row waits for its job to report before the relay claims it again (a
  // lost job, a dead worker). Longer than a Stripe call with its retry (2 × STRIPE_API_TIMEOUT_MS).
  MONEY_OUTBOX_LEASE_SECONDS: int(1, 3600).default(60),
  WALLET_EVENT_DELIVERY_ATTEMPTS: int(1, 100).default(15),
  WALLET_EVENT_DELIVERY_BACKOFF_MS: int(1, 3_600_000).default(1000),
  WALLET_EVENT_DELIVERY_TIMEOUT_MS: int(100, 60_000).default(5000),
  SANDBOX_STRIPE_PORT: int(1, 65535).default(4030),
  SANDBOX_TWILIO_PORT: int(1, 65535).default(4010),
  SANDBOX_VAPI_PORT: int(1, 65535).default(4020),
  /** Interface the simulators listen on; 0.0.0.0 when other containers must reach them (docker-compose). */
  SANDBOX_HOST: z.string().regex(/^[0-9A-Za-z.:-]{1,100}$/, 'must be a host name or address').default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 of [A-Za-z0-9_.-]').default('bg'),
});

export type Env = z.input<typeof envSchema>;
/** Every environment variable the service reads (docs/operations.md documents each; a test checks). */
export const ENV_VARIABLES = Object.keys(envSchema.shape) as ReadonlyArray<keyof Env>;

export interface Config {
  port: number;
  /** Where a workers process alone serves /metrics (api/metrics-app.ts); 0 = any free port. */
  workersMetricsPort: number;
  sandbox: { enabled: boolean; twilioPort: number; vapiPort: number; stripePort: number; host: string };
  /** Exactly one data path: node-postgres on databaseUrl, or supabase-js to a Supabase project. */
  data: { kind: 'postgres'; databaseUrl: string } | { kind: 'supabase'; url: string; serviceRoleKey: string };
  /** clusterNodes: REDIS_CLUSTER_NODES (a Redis Cluster; url is then unused), else one Redis at url. */
  redis: RedisTarget & { keyPrefix: string };
  auth: {
    jwt: { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string };
    adminToken: string;
    vapiWebhookSecret: string;
    vapiWebhookHmacSecret: string | undefined;
    vapiWebhookMaxSkewSeconds: number;
  };
  twilio: { accountSid: string; authToken: string; apiBaseUrl: string | undefined; timeoutMs: number };
  reconcile: { intervalMs: number; graceSeconds: number };
  vapi: { apiKey: string; apiBaseUrl: string };
  /** Outbound calls (CONTRACT §10): VAPI_CONCURRENCY_LIMIT, null = no platform cap. */
  outbound: { concurrencyLimit: number | null };
  publicBaseUrl: string;
  /** The billing page: the CSP frame-ancestors source list (who may embed /billing). */
  billingPage: { frameAncestors: string };
  /** The one source of every price and rate (failure mode 5). Integers, minor units. */
  pricing: {
    currency: string;
    /** The price of a number in `currency`. */
    phoneNumberPrice: number;
    /** Prices of a number in other currencies (PHONE_NUMBER_PRICES); `currency`'s is never here. */
    phoneNumberPrices?: Readonly<Record<string, number>>;
    /** A number's rent per month in `currency` (PHONE_NUMBER_MONTHLY_PRICE). */
    phoneNumberMonthlyPrice: number;
    /** Its rent in other currencies (PHONE_NUMBER_MONTHLY_PRICES); `currency`'s is never here. */
    phoneNumberMonthlyPrices?: Readonly<Record<string, number>>;
    callMinBalance: number;
    callRatePerMinute: number;
  };
  callGate: {
    failMode: 'closed' | 'open';
    redisTimeoutMs: number;
    /** Consecutive Redis failures or timeouts that open the gate's circuit breaker. */
    breakerFailures: number;
    /** How long an open breaker sends decisions straight to Postgres before one probe (ms). */
    breakerCoolDownMs: number;
    safetyMarginSeconds: number;
    holdGraceSeconds: number;
    /** maxDurationSeconds granted when CALL_GATE_FAIL_MODE=open and neither store answers. */
    failOpenMaxDurationSeconds: number;
    numberCacheTtlSeconds: number;
    /** How long the Postgres fallback may take before the fail mode answers (Vapi allows ~7.5 s). */
    databaseTimeoutMs: number;
    /** Bound on a whole assistant-request decision; past it the fail mode answers (Vapi: ~7.5 s). */
    decisionDeadlineMs: number;
    sweepBatchSize: number;
    /** metered: hold one slice and renew it while the call lasts; full: hold the whole maxDuration. */
    holdPolicy: 'metered' | 'full';
    /** The seconds of call one slice of a metered hold pays for. */
    holdSeconds: number;
    /** Host patterns (exact, or `*.` + suffix) whose https control URLs may be called. */
    controlHosts: string[];
    /** Sandbox mode: also http(s) control URLs on loopback (the Vapi simulator, test servers). */
    controlLoopback: boolean;
    /** Tries in all of a hang-up (end-call) whose control URL fails, before the call is counted unendable. */
    hangupAttempts: number;
    /** Base of the hang-up's exponential backoff (ms): base, 2 × base, 4 × base, … between tries. */
    hangupBackoffMs: number;
    webhookBodyBytes: number;
    vapiApiTimeoutMs: number;
  };
  provisioning: { maxAttempts: number; backoffMs: number };
  /** Monthly number rental (CONTRACT §11): the grace before an unpaid number is released, and how often the rent sweep runs. */
  rental: { graceDays: number; intervalMs: number };
  /** Money in (CONTRACT §7). */
  stripe: {
    secretKey: string;
    webhookSecret: string;
    /** undefined = https://api.stripe.com */
    apiBaseUrl: string | undefined;
    /** Where the sandbox simulator delivers events. */
    webhookUrl: string;
    apiTimeoutMs: number;
    /** The catch-up of missed webhooks: every intervalMs, events older than settleSeconds, at most windowSeconds back. */
    catchUp: { intervalMs: number; windowSeconds: number; settleSeconds: number };
  };
  topUps: { minAmount: number; maxAmount: number };
  autoRecharge: { cooldownSeconds: number; retryMaxSeconds: number };
  walletEvents: { outboxPollMs: number; outboxLeaseSeconds: number; deliveryAttempts: number; deliveryBackoffMs: number; deliveryTimeoutMs: number };
  sweep: { intervalMs: number; stuckAfterSeconds: number };
  limits: { httpBodyBytes: number; balanceCacheTtlSeconds: number; shutdownDeadlineMs: number; authFailuresPerMinute: number; jobLockMs: number };
  logLevel: string;
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/billing_gates';

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid configuration';
  const name = issue.path.join('.');
  return `${name} ${issue.message}`;
}

function need(value: string | undefined, name: string, why: string): string {
  if (value === undefined || value === '') throw new ConfigError(`${name} is required ${why}`);
  return value;
}

/** Reads the configuration from an environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(firstIssue(parsed.error));
  const e = parsed.data;

  const sandbox = e.TWILIO_ACCOUNT_SID === undefined;
  const outside = 'outside sandbox mode (TWILIO_ACCOUNT_SID is set)';
  const orSandbox = <K extends keyof typeof SANDBOX_SECRETS>(k: K, v: string | undefined) =>
    sandbox ? (v ?? SANDBOX_SECRETS[k]) : need(v, k, outside);

  let data: Config['data'];
  if (e.DATABASE_URL === undefined && e.SUPABASE_URL !== undefined) {
    data = {
      kind: 'supabase',
      url: e.SUPABASE_URL,
      serviceRoleKey: need(e.SUPABASE_SERVICE_ROLE_KEY, 'SUPABASE_SERVICE_ROLE_KEY', 'when SUPABASE_URL is set'),
    };
  } else {
    data = { kind: 'postgres', databaseUrl: e.DATABASE_URL ?? DEFAULT_DATABASE_URL };
  }

  let jwt: Config['auth']['jwt'];
  if (e.SUPABASE_JWKS_URL !== undefined && e.SUPABASE_JWT_SECRET === undefined) {
    jwt = { kind: 'jwks', url: e.SUPABASE_JWKS_URL };
  } else {
    jwt = { kind: 'secret', secret: orSandbox('SUPABASE_JWT_SECRET', e.SUPABASE_JWT_SECRET) };
  }

  const port = e.PORT;
  if (e.TOPUP_MIN_AMOUNT > e.TOPUP_MAX_AMOUNT) throw new ConfigError('TOPUP_MIN_AMOUNT must not be above TOPUP_MAX_AMOUNT');
  const purchasePrices = otherPrices('PHONE_NUMBER_PRICES', e.PHONE_NUMBER_PRICES, e.CURRENCY);
  const monthlyPrices = otherPrices('PHONE_NUMBER_MONTHLY_PRICES', e.PHONE_NUMBER_MONTHLY_PRICES, e.CURRENCY);
  // A number bought in a currency with no rent would be rented for nothing: refuse to start.
  const unrented = Object.keys(purchasePrices).filter((c) => !(c in monthlyPrices));
  if (unrented.length > 0) throw new ConfigError(`PHONE_NUMBER_MONTHLY_PRICES must price every currency PHONE_NUMBER_PRICES prices (missing: ${unrented.join(', ')})`);
  const publicBaseUrl = sandbox ? (e.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`) : need(e.PUBLIC_BASE_URL, 'PUBLIC_BASE_URL', outside);
  return {
    port,
    workersMetricsPort: e.WORKERS_METRICS_PORT,
    sandbox: { enabled: sandbox, twilioPort: e.SANDBOX_TWILIO_PORT, vapiPort: e.SANDBOX_VAPI_PORT, stripePort: e.SANDBOX_STRIPE_PORT, host: e.SANDBOX_HOST },
    data,
    redis: { url: e.REDIS_URL, ...(e.REDIS_CLUSTER_NODES === undefined ? {} : { clusterNodes: clusterNodes(e.REDIS_CLUSTER_NODES) }), keyPrefix: e.REDIS_KEY_PREFIX },
    auth: {
      jwt,
      adminToken: orSandbox('ADMIN_TOKEN', e.ADMIN_TOKEN),
      vapiWebhookSecret: orSandbox('VAPI_WEBHOOK_SECRET', e.VAPI_WEBHOOK_SECRET),
      vapiWebhookHmacSecret: e.VAPI_WEBHOOK_HMAC_SECRET,
      vapiWebhookMaxSkewSeconds: e.VAPI_WEBHOOK_MAX_SKEW_SECONDS,
    },
    twilio: {
      accountSid: e.TWILIO_ACCOUNT_SID ?? SANDBOX_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: orSandbox('TWILIO_AUTH_TOKEN', e.TWILIO_AUTH_TOKEN),
      apiBaseUrl: e.TWILIO_API_BASE_URL ?? (sandbox ? `http://127.0.0.1:${e.SANDBOX_TWILIO_PORT}` : undefined),
      timeoutMs: e.TWILIO_API_TIMEOUT_MS,
    },
    reconcile: { intervalMs: e.RECONCILE_INTERVAL_MS, graceSeconds: e.RECONCILE_GRACE_SECONDS },
    vapi: {
      apiKey: orSandbox('VAPI_API_KEY', e.VAPI_API_KEY),
      apiBaseUrl: e.VAPI_API_BASE_URL ?? (sandbox ? `http://127.0.0.1:${e.SANDBOX_VAPI_PORT}` : 'https://api.vapi.ai'),
    },
    publicBaseUrl,
    billingPage: { frameAncestors: e.BILLING_PAGE_FRAME_ANCESTORS },
    pricing: {
      currency: e.CURRENCY,
      phoneNumberPrice: e.PHONE_NUMBER_PRICE,
      ...(e.PHONE_NUMBER_PRICES === undefined ? {} : { phoneNumberPrices: purchasePrices }),
      phoneNumberMonthlyPrice: e.PHONE_NUMBER_MONTHLY_PRICE,
      ...(e.PHONE_NUMBER_MONTHLY_PRICES === undefined ? {} : { phoneNumberMonthlyPrices: monthlyPrices }),
      callMinBalance: e.CALL_MIN_BALANCE,
      callRatePerMinute: e.CALL_RATE_PER_MINUTE,
    },
    callGate: {
      failMode: e.CALL_GATE_FAIL_MODE,
      redisTimeoutMs: e.CALL_GATE_REDIS_TIMEOUT_MS,
      breakerFailures: e.CALL_GATE_BREAKER_FAILURES,
      breakerCoolDownMs: e.CALL_GATE_BREAKER_COOL_DOWN_MS,
      safetyMarginSeconds: e.CALL_SAFETY_MARGIN_SECONDS,
      holdGraceSeconds: e.CALL_HOLD_GRACE_SECONDS,
      failOpenMaxDurationSeconds: e.CALL_GATE_FAIL_OPEN_MAX_DURATION_SECONDS,
      numberCacheTtlSeconds: e.CALL_NUMBER_CACHE_TTL_SECONDS,
      databaseTimeoutMs: e.CALL_GATE_DATABASE_TIMEOUT_MS,
      decisionDeadlineMs: e.CALL_GATE_DECISION_DEADLINE_MS,
      sweepBatchSize: e.CALL_SWEEP_BATCH_SIZE,
      holdPolicy: e.CALL_HOLD_POLICY,
      holdSeconds: e.CALL_HOLD_SECONDS,
      controlHosts: e.VAPI_CONTROL_HOSTS.split(','),
      controlLoopback: sandbox,
      hangupAttempts: e.CALL_HANGUP_ATTEMPTS,
      hangupBackoffMs: e.CALL_HANGUP_BACKOFF_MS,
      webhookBodyBytes: e.VAPI_WEBHOOK_BODY_LIMIT_BYTES,
      vapiApiTimeoutMs: e.VAPI_API_TIMEOUT_MS,
    },
    outbound: { concurrencyLimit: e.VAPI_CONCURRENCY_LIMIT ?? null },
    provisioning: { maxAttempts: e.PROVISION_MAX_ATTEMPTS, backoffMs: e.PROVISION_BACKOFF_MS },
    rental: { graceDays: e.NUMBER_GRACE_DAYS, intervalMs: e.RENT_INTERVAL_MS },
    stripe: {
      secretKey: orSandbox('STRIPE_SECRET_KEY', e.STRIPE_SECRET_KEY),
      webhookSecret: orSandbox('STRIPE_WEBHOOK_SECRET', e.STRIPE_WEBHOOK_SECRET),
      apiBaseUrl: e.STRIPE_API_BASE_URL ?? (sandbox ? `http://127.0.0.1:${e.SANDBOX_STRIPE_PORT}` : undefined),
      webhookUrl: e.STRIPE_WEBHOOK_URL ?? `${publicBaseUrl}/api/stripe/webhook`,
      apiTimeoutMs: e.STRIPE_API_TIMEOUT_MS,
      catchUp: { intervalMs: e.STRIPE_CATCH_UP_INTERVAL_MS, windowSeconds: e.STRIPE_CATCH_UP_WINDOW_SECONDS, settleSeconds: e.STRIPE_CATCH_UP_SETTLE_SECONDS },
    },
    topUps: { minAmount: e.TOPUP_MIN_AMOUNT, maxAmount: e.TOPUP_MAX_AMOUNT },
    autoRecharge: { cooldownSeconds: e.AUTO_RECHARGE_COOLDOWN_SECONDS, retryMaxSeconds: e.AUTO_RECHARGE_RETRY_MAX_SECONDS },
    walletEvents: {
      outboxPollMs: e.MONEY_OUTBOX_POLL_MS,
      outboxLeaseSeconds: e.MONEY_OUTBOX_LEASE_SECONDS,
      deliveryAttempts: e.WALLET_EVENT_DELIVERY_ATTEMPTS,
      deliveryBackoffMs: e.WALLET_EVENT_DELIVERY_BACKOFF_MS,
      deliveryTimeoutMs: e.WALLET_EVENT_DELIVERY_TIMEOUT_MS,
    },
    sweep: { intervalMs: e.SWEEP_INTERVAL_MS, stuckAfterSeconds: e.STUCK_REQUEST_AFTER_SECONDS },
    limits: {
      httpBodyBytes: e.HTTP_BODY_LIMIT_BYTES,
      balanceCacheTtlSeconds: e.BALANCE_CACHE_TTL_SECONDS,
      shutdownDeadlineMs: e.SHUTDOWN_DEADLINE_MS,
      authFailuresPerMinute: e.AUTH_FAILURES_PER_MINUTE,
      jobLockMs: e.JOB_LOCK_DURATION_MS,
    },
    logLevel: e.LOG_LEVEL,
  };
}

/** Where Redis is: one server (url), or a Redis Cluster's seed nodes (clusterNodes, when set). */
export interface RedisTarget {
  url: string;
  clusterNodes?: ReadonlyArray<{ host: string; port: number }>;
}

/** REDIS_CLUSTER_NODES (already checked by the schema) as host/port pairs. */
function clusterNodes(raw: string): Array<{ host: string; port: number }> {
  return raw.split(',').map((n) => {
    const colon = n.lastIndexOf(':');
    return { host: n.slice(0, colon), port: Number(n.slice(colon + 1)) };
  });
}

/**
 * PHONE_NUMBER_PRICES or PHONE_NUMBER_MONTHLY_PRICES as a map (empty when unset); CURRENCY's own
 * price is PHONE_NUMBER_PRICE / PHONE_NUMBER_MONTHLY_PRICE, never a second one.
 */
function otherPrices(name: 'PHONE_NUMBER_PRICES' | 'PHONE_NUMBER_MONTHLY_PRICES', raw: string | undefined, currency: string): Record<string, number> {
  const prices: Record<string, number> = {};
  if (raw === undefined) return prices;
  const own = name === 'PHONE_NUMBER_PRICES' ? 'PHONE_NUMBER_PRICE' : 'PHONE_NUMBER_MONTHLY_PRICE';
  for (const pair of raw.split(',')) {
    const [code = '', amount = ''] = pair.split(':');
    if (code === currency) throw new ConfigError(`${name}: ${code} is CURRENCY, priced by ${own} (one source per price)`);
    if (code in prices) throw new ConfigError(`${name}: ${code} is listed twice`);
    prices[code] = Number(amount);
  }
  return prices;
}
