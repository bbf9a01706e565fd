// Amounts held for calls in progress, for GET /api/wallet (`available = balance − held`).
// Redis has the holds the gate just placed; Postgres has every hold durably (the Redis path
// records its holds there right after answering). The reader takes the larger of the two, so a
// hold is never missed while one copy lags, and answers from either alone if the other fails.
import type { Rpc } from '../db/rpc';
import type { RedisClient, RedisKeys } from '../redis';
import { createCallStore } from './call-store';
import { createRedisHolds } from './redis-holds';
import { withTimeout } from '../timeout';

export interface HoldsReader {
  totalHeld(orgId: string): Promise<number>;
}

export function createHoldsReader(redis: RedisClient, keys: RedisKeys, rpc: Rpc, redisTimeoutMs: number): HoldsReader {
  // The wallet TTL is irrelevant to reads; fill() is never called through this instance.
  const hot = createRedisHolds(redis, keys, 1);
  const store = createCallStore(rpc);
  return {
    async totalHeld(orgId) {
      const [fromRedis, fromPostgres] = await Promise.allSettled([withTimeout(hot.held(orgId), redisTimeoutMs, 'redis'), store.holdsTotal(orgId)]);
      if (fromRedis.status === 'rejected' && fromPostgres.status === 'rejected') throw fromPostgres.reason;
      const a = fromRedis.status === 'fulfilled' ? fromRedis.value : 0;
      const b = fromPostgres.status === 'fulfilled' ? fromPostgres.value : 0;
      return Math.max(a, b);
    },
  };
}
