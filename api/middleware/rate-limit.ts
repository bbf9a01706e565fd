// Throttles failed authentication per source address, so that a flood of forged webhooks, guessed
// operator tokens or forged dashboard JWTs costs the attacker and not the service — without ever
// throttling a caller that authenticates: Vapi's legitimate bursts (hundreds of calls starting at
// once, by secret, Bearer or HMAC) and operators and dashboards are skipped before anything is
// counted, whatever the address's count.
//
// Why authentication is decided *before* the limiter, even where it needs the body (Vapi's HMAC)
// or a signature check (dashboard JWTs): express-rate-limit counts a request when it arrives and
// hands the hit back when it ends well (skipSuccessfulRequests). Used for requests that will
// authenticate, that counts good traffic while it is in flight, and a burst of 100 signed
// assistant-requests ran into 429 (failure mode 27). A read-only check up front with counting on
// 401 would still throttle Vapi whenever an attacker shares its address (a proxy), and let a
// concurrent flood past the limit. So `isAuthenticated` (the library's async `skip`) runs the real
// check, once per request (the routes reuse its verdict); only what is left — requests that will
// fail — is counted, atomically and exactly. A forged HMAC or JWT thus costs one bounded body read
// and one signature check before its 429: the price of never refusing a genuine one.
//
// Counts live in Redis under the service's key prefix (rate-limit-redis), so every API process
// shares one window per source. Counted requests that are not answered 401/403 (an unknown path)
// are handed back. A Redis error lets the request through: authentication still decides, the
// limiter is only a brake (logged at most once a minute).
import { masterNodes, type RedisClient } from '../../shared/redis';
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { Services } from '../../shared/process/services';
import { operatorTokenFrom, safeEqual } from './operator-auth';
import { dashboardAuthenticator } from './dashboard-auth';
import { vapiAuthenticator } from './vapi-auth';

export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** At most one warning per this interval while the limiter's Redis fails. */
export const STORE_ERROR_LOG_INTERVAL_MS = 60_000;

export interface AuthFailureLimitOptions {
  redis: RedisClient;
  log: Logger;
  /** Redis key prefix for this surface's counters, e.g. `bg:rl:webhook:`. */
  prefix: string;
  /** Failed attempts allowed per source address per window. */
  limit: number;
  windowMs?: number;
  /** The real authentication check (may read the body): requests that pass are never counted nor throttled. */
  isAuthenticated?: (req: Request, res: Response) => boolean | Promise<boolean>;
}

/**
 * The store's commands go through our client. SCRIPT LOAD names no key, and a Redis Cluster would
 * send it to one node at random: EVALSHA on another master would then find no script (NOSCRIPT,
 * which the store answers by loading once more, again anywhere). So it goes to every master (on
 * one Redis, to it); every other command names its key and is routed by it.
 */
async function sendCommand(redis: RedisClient, command: string, ...args: string[]): Promise<RedisReply> {
  const masters = masterNodes(redis);
  if (command.toUpperCase() !== 'SCRIPT' || args[0]?.toUpperCase() !== 'LOAD' || masters.length === 0) return (await redis.call(command, ...args)) as RedisReply;
  const [sha] = await Promise.all(masters.map((node) => node.call(command, ...args)));
  return sha as RedisReply;
}

function redisStore(redis: RedisClient, prefix: string): RedisStore {
  const store = new RedisStore({
    sendCommand: (command: string, ...args: string[]) => sendCommand(redis, command, ...args),
    prefix,
  });
  // The store loads its Lua scripts at once; if Redis is not up yet it reloads them on first use,
  // so a failed early load is not an error worth an unhandled rejection.
  store.incrementScriptSha.catch(() => undefined);
  store.getScriptSha.catch(() => undefined);
  return store;
}

/** The Redis store, where a Redis error means "not limited" and one warning a minute (express-rate-limit would print every error to the console). */
class BrakeStore implements Store {
  private lastWarningMs = 0;
  private windowMs = AUTH_FAILURE_WINDOW_MS;
  constructor(
    private readonly inner: RedisStore,
    private readonly log: Logger,
  ) {}
  get prefix(): string {
    return this.inner.prefix;
  }
  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.inner.init(options);
  }
  async increment(key: string): Promise<IncrementResponse> {
    try {
      return await this.inner.increment(key);
    } catch (err) {
      this.warn(err);
      // As if this were the source's first attempt in a fresh window: never over the limit.
      return { totalHits: 1, resetTime: new Date(Date.now() + this.windowMs) };
    }
  }
  async decrement(key: string): Promise<void> {
    await this.inner.decrement(key).catch((err: unknown) => this.warn(err));
  }
  async resetKey(key: string): Promise<void> {
    await this.inner.resetKey(key).catch((err: unknown) => this.warn(err));
  }
  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarningMs < STORE_ERROR_LOG_INTERVAL_MS) return;
    this.lastWarningMs = now;
    this.log.warn({ prefix: this.inner.prefix, err: (err as Error).message }, 'auth-failure limiter: Redis unavailable; not limiting');
  }
}

export function limitAuthFailures(options: AuthFailureLimitOptions): RequestHandler {
  return rateLimit({
    windowMs: options.windowMs ?? AUTH_FAILURE_WINDOW_MS,
    limit: options.limit,
    store: new BrakeStore(redisStore(options.redis, options.prefix), options.log),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: options.isAuthenticated,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401 && res.statusCode !== 403,
    passOnStoreError: true,
    handler: (_req, res) => {
      res.status(429).json(new AppError('rate_limited', 'Too many failed authentication attempts from this address; try again later.').toBody());
    },
  });
}

/** One limiter per authenticated surface, each with its own counters. */
export function authFailureLimiters({ config, redis, keys, log }: Services) {
  const limit = config.limits.authFailuresPerMinute;
  const prefix = (surface: string) => `${keys.prefix}:rl:${surface}:`;
  const vapi = vapiAuthenticator(
    { secret: config.auth.vapiWebhookSecret, hmacSecret: config.auth.vapiWebhookHmacSecret, maxSkewSeconds: config.auth.vapiWebhookMaxSkewSeconds },
    config.callGate.webhookBodyBytes,
  );
  const dashboard = dashboardAuthenticator(config.auth.jwt);
  return {
    /** Mount in front of the Vapi webhook router: `app.use('/api/vapi', limiters.webhook, vapiWebhookRoutes(...))`. */
    webhook: limitAuthFailures({ redis, log, prefix: prefix('webhook'), limit, isAuthenticated: async (req, res) => (await vapi(req, res)).by !== undefined }),
    /** /api/admin, /metrics and /admin/queues (bearer, or basic for Bull Board). */
    operator: limitAuthFailures({
      redis,
      log,
      prefix: prefix('operator'),
      limit,
      isAuthenticated: (req) => {
        const token = operatorTokenFrom(req.get('authorization'), true);
        return token !== undefined && safeEqual(token, config.auth.adminToken);
      },
    }),
    /** /api/wallet and /api/managed-telephony: a 403 (a valid token without an organisation) counts as a failure. */
    dashboard: limitAuthFailures({ redis, log, prefix: prefix('dashboard'), limit, isAuthenticated: async (req) => !((await dashboard(req)) instanceof AppError) }),
  };
}
