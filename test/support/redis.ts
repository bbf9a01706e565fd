// Tests share one Redis server; each test file owns a random key prefix and cleans it up.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniquePrefix = (label = 't') => `bgt-${label}-${randomBytes(5).toString('hex')}`;

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
