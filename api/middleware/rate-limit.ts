// Throttles failed authentication per source address, so that a flood of forged webhooks, guessed
// operator tokens or forged dashboard JWTs costs the attacker and not the service — without ever
// throttling a caller that authenticates: Vapi's legitimate bursts (hundreds of calls starting at
// once) and operators are skipped before anything is counted.
//
// Counts live in Redis under the service's key prefix (rate-limit-redis), so every API process
// shares one window per source. Only answers of 401/403 are counted (skipSuccessfulRequests with
// requestWasSuccessful); everything else is handed back. A Redis error lets the request through
// (passOnStoreError): authentication still decides, the limiter is only a brake.
import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { operatorTokenFrom, safeEqual } from './operator-auth';
import { hasSharedSecret } from './vapi-auth';

export const AUTH_FAILURE_WINDOW_MS = 60_000;

export interface AuthFailureLimitOptions {
  redis: Redis;
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

export function limitAuthFailures(options: AuthFailureLimitOptions): RequestHandler {
  const isAuthenticated = options.isAuthenticated;
  return rateLimit({
    windowMs: options.windowMs ?? AUTH_FAILURE_WINDOW_MS,
    limit: options.limit,
    store: redisStore(options.redis, options.prefix),
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
export function authFailureLimiters({ config, redis, keys }: Services) {
  const limit = config.limits.authFailuresPerMinute;
  const prefix = (surface: string) => `${keys.prefix}:rl:${surface}:`;
  const vapi = { secret: config.auth.vapiWebhookSecret, hmacSecret: config.auth.vapiWebhookHmacSecret, maxSkewSeconds: config.auth.vapiWebhookMaxSkewSeconds };
  return {
    /** Mount in front of the Vapi webhook router: `app.use('/api/vapi', limiters.webhook, vapiWebhookRoutes(...))`. */
    webhook: limitAuthFailures({ redis, prefix: prefix('webhook'), limit, isAuthenticated: (req) => hasSharedSecret(req, vapi) }),
    /** /api/admin, /metrics and /admin/queues (bearer, or basic for Bull Board). */
    operator: limitAuthFailures({
      redis,
      prefix: prefix('operator'),
      limit,
      isAuthenticated: (req) => {
        const token = operatorTokenFrom(req.get('authorization'), true);
        return token !== undefined && safeEqual(token, config.auth.adminToken);
      },
    }),
    /** /api/wallet and /api/managed-telephony: JWTs are verified later, so only failures count. */
    dashboard: limitAuthFailures({ redis, prefix: prefix('dashboard'), limit }),
  };
}
