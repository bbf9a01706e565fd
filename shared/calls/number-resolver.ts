// Which organisation (and assistant) a called number belongs to: by Vapi's phone-number id,
// else by the E.164 number (failure mode 15: never by assistant id). Redis caches found numbers
// for CALL_NUMBER_CACHE_TTL_SECONDS; unknown numbers are not cached at all, so a number
// provisioned a second ago resolves on its first call. The last answers are also kept in
// process memory: answered from there without asking Redis for NUMBER_LOCAL_CACHE_MS after they
// were read (the hot path's cheapest step), and at any age when neither Redis nor Postgres can
// answer (fail-open mode). Staleness bound: a number released or re-pointed is still resolved the
// old way for at most CALL_NUMBER_CACHE_TTL_SECONDS (Redis) + NUMBER_LOCAL_CACHE_MS. A number's
// rental status (issue 24: active, past_due, releasing) travels with it; whoever changes it
// deletes the Redis entries at once (forgetNumber), which leaves NUMBER_LOCAL_CACHE_MS of staleness
// (and the Redis TTL only if that delete failed).
// The number's rate (CONTRACT §10: an inbound call is rated by the number it called) comes with
// it from phone_number_resolve and is cached with it, so the hot path makes no second lookup; a
// rate table replaced is therefore seen by inbound calls within the first bound above (nobody
// deletes the cached numbers when the rate table changes).
import { z } from 'zod';
import type { RedisClient, RedisKeys } from '../redis';
import { rateRow, type CallStore, type RateRow } from './call-store';
import type { RedisBreaker } from './redis-breaker';
import { withTimeout } from '../timeout';

export interface NumberLookup {
  vapiPhoneNumberId: string | null;
  e164: string | null;
}

/** A number's rental status as the gate sees it (a released number is not found at all). */
export type NumberStatus = 'active' | 'past_due' | 'releasing';

export interface ResolvedNumber {
  orgId: string;
  assistantId: string | null;
  status: NumberStatus;
  /** The rate table's row for this number (longest prefix), or null: the default rate. */
  rate: RateRow | null;
}

export type Resolution =
  | { kind: 'found'; number: ResolvedNumber; source: 'cache' | 'database' | 'memory'; redisFailed: boolean }
  | { kind: 'not_found'; source: 'database'; redisFailed: boolean }
  | { kind: 'unavailable'; redisError: unknown; databaseError: unknown };

/** How long one process reuses a number's answer without asking Redis (ms). */
export const NUMBER_LOCAL_CACHE_MS = 2000;

/** Bound on the in-process copy (entries), oldest evicted first. */
export const NUMBER_MEMORY_MAX_ENTRIES = 10_000;

/** Why Redis was not asked: the gate's circuit breaker is open (see redis-breaker.ts). */
export class RedisCircuitOpenError extends Error {
  override name = 'RedisCircuitOpenError';
  constructor() {
    super('redis circuit breaker open');
  }
}

// Entries written before issue 24 carry no status: they were active numbers. An entry cached
// before rates were kept has no `rate`: it fails this and is read again from Postgres.
const cached = z.object({
  orgId: z.string(),
  assistantId: z.string().nullable(),
  status: z.enum(['active', 'past_due', 'releasing']).default('active'),
  rate: rateRow.nullable(),
});

/** The Redis keys a number is cached under (by Vapi id and by E.164). */
export function numberCacheKeys(keys: RedisKeys, n: { vapiPhoneNumberId: string | null; e164: string }): string[] {
  return [...(n.vapiPhoneNumberId !== null ? [keys.number(`id:${n.vapiPhoneNumberId}`)] : []), keys.number(`e164:${n.e164}`)];
}

/**
 * Drops a number's cached answers after its status changed (past due, active again, released), so
 * every process's next lookup after NUMBER_LOCAL_CACHE_MS reads Postgres. A failure is the caller's
 * to count: the stale entry then lives until CALL_NUMBER_CACHE_TTL_SECONDS.
 */
export async function forgetNumber(redis: RedisClient, keys: RedisKeys, n: { vapiPhoneNumberId: string | null; e164: string }): Promise<void> {
  // One DEL per key: the two keys hash to different slots, and a Redis Cluster refuses a
  // multi-key DEL across slots (CROSSSLOT). Nothing needs them removed together.
  await Promise.all(numberCacheKeys(keys, n).map((key) => redis.del(key)));
}

export interface NumberResolverOptions {
  redis: RedisClient;
  keys: RedisKeys;
  store: CallStore;
  ttlSeconds: number;
  /** How long an answer read from Redis or Postgres is reused without asking again (0 = never). */
  localCacheMs: number;
  redisTimeoutMs: number;
  databaseTimeoutMs: number;
  /** The clock (ms), injectable so tests can step past the local window without waiting. */
  nowMs?: () => number;
  /** Called when Redis could not answer (or was skipped: RedisCircuitOpenError) and Postgres was asked instead. */
  onRedisFailure(err: unknown): void;
  /** The gate's breaker: while open, Redis is not asked; every Redis answer or failure is reported to it. */
  breaker?: RedisBreaker;
}

export function createNumberResolver(o: NumberResolverOptions) {
  // Insertion order = recency (re-inserted on every read from a store): the first key is the oldest.
  const memory = new Map<string, { number: ResolvedNumber; readAtMs: number }>();
  const now = o.nowMs ?? Date.now;
  const remember = (key: string, n: ResolvedNumber) => {
    memory.delete(key);
    memory.set(key, { number: n, readAtMs: now() });
    if (memory.size > NUMBER_MEMORY_MAX_ENTRIES) {
      const oldest = memory.keys().next().value;
      if (oldest !== undefined) memory.delete(oldest);
    }
  };

  return {
    async resolve(lookup: NumberLookup): Promise<Resolution> {
      const key = lookup.vapiPhoneNumberId !== null ? o.keys.number(`id:${lookup.vapiPhoneNumberId}`) : o.keys.number(`e164:${lookup.e164 ?? ''}`);
      const recent = memory.get(key);
      if (recent !== undefined && now() - recent.readAtMs < o.localCacheMs) {
        return { kind: 'found', number: recent.number, source: 'memory', redisFailed: false };
      }
      let redisError: unknown;
      let redisUp = false;
      if (o.breaker !== undefined && !o.breaker.allow()) {
        redisError = new RedisCircuitOpenError();
        o.onRedisFailure(redisError);
      } else {
        try {
          const raw = await withTimeout(o.redis.get(key), o.redisTimeoutMs, 'redis');
          redisUp = true;
          o.breaker?.success();
          const hit = raw === null ? undefined : cached.safeParse(JSON.parse(raw));
          if (hit?.success) {
            remember(key, hit.data);
            return { kind: 'found', number: hit.data, source: 'cache', redisFailed: false };
          }
        } catch (err) {
          if (!redisUp) o.breaker?.failure();
          redisError = err;
          o.onRedisFailure(err);
        }
      }
      let found;
      try {
        found = await withTimeout(o.store.resolveNumber(lookup.vapiPhoneNumberId, lookup.e164), o.databaseTimeoutMs, 'postgres');
      } catch (databaseError) {
        const known = memory.get(key);
        if (known) return { kind: 'found', number: known.number, source: 'memory', redisFailed: !redisUp };
        return { kind: 'unavailable', redisError, databaseError };
      }
      if (found.outcome === 'not_found') return { kind: 'not_found', source: 'database', redisFailed: !redisUp };
      const number: ResolvedNumber = { orgId: found.org_id, assistantId: found.assistant_id, status: found.status, rate: found.rate };
      remember(key, number);
      // Cache only found numbers, and only when Redis just answered (no waiting on a sick Redis).
      if (redisUp) await withTimeout(o.redis.set(key, JSON.stringify(number), 'EX', o.ttlSeconds), o.redisTimeoutMs, 'redis').catch(() => undefined);
      return { kind: 'found', number, source: 'database', redisFailed: !redisUp };
    },
  };
}

export type NumberResolver = ReturnType<typeof createNumberResolver>;
