// Throttles failed authentication per source address, so that a flood of forged webhooks, guessed
// operator tokens or forged dashboard JWTs costs the attacker and not the service — without ever
// throttling a caller that authenticates: Vapi's legitimate bursts (hundreds of calls starting at
// once) and operators are skipped before anything is counted.
//
// Counts live in Redis under the service's key prefix (rate-limit-redis), so every API process
// shares one window per source. Only answers of 401/403 are counted (skipSuccessfulRequests with
// requestWasSuccessful); everything else is handed back. A Redis error lets the request through:
// authentication still decides, the limiter is only a brake (logged at most once a minute).
import type { Request, RequestHandler } from 'express';
import { rateLimit, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { Services } from '../../shared/process/services';
import { operatorTokenFrom, safeEqual } from './operator-auth';
import { hasSharedSecret } from './vapi-auth';

export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** At most one warning per this interval while the limiter's Redis fails. */
export const STORE_ERROR_LOG_INTERVAL_MS = 60_000;

export interface AuthFailureLimitOptions {
  redis: Redis;
  log: Logger;
  /** Redis key prefix for this surface's counters, e.g. `bg:rl:webhook:`. */
  prefix: string;
  /** Failed attempts allowed per source address per window. */
  limit: number;
  windowMs?: number;
  /** A cheap, synchronous check: requests with valid credentials are never counted nor throttled. */
  isAuthenticated?: (req: Request) => boolean;
}

function redisStore(redis: Redis, prefix: string): RedisStore {
  const store = new RedisStore({
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
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
  const isAuthenticated = options.isAuthenticated;
  return rateLimit({
    windowMs: options.windowMs ?? AUTH_FAILURE_WINDOW_MS,
    limit: options.limit,
    store: new BrakeStore(redisStore(options.redis, options.prefix), options.log),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: isAuthenticated ? (req) => isAuthenticated(req) : undefined,
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
  const vapi = { secret: config.auth.vapiWebhookSecret, hmacSecret: config.auth.vapiWebhookHmacSecret, maxSkewSeconds: config.auth.vapiWebhookMaxSkewSeconds };
  return {
    /** Mount in front of the Vapi webhook router: `app.use('/api/vapi', limiters.webhook, vapiWebhookRoutes(...))`. */
    webhook: limitAuthFailures({ redis, log, prefix: prefix('webhook'), limit, isAuthenticated: (req) => hasSharedSecret(req, vapi) }),
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
    /** /api/wallet and /api/managed-telephony: JWTs are verified later, so only failures count. */
    dashboard: limitAuthFailures({ redis, log, prefix: prefix('dashboard'), limit }),
  };
}
