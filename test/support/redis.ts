// Tests share one Redis server (or, under `npm run test:cluster`, one Redis Cluster); each test
// file owns a random key prefix and cleans it up.
import { randomBytes } from 'node:crypto';
import { loadConfig, type RedisTarget } from '../../shared/config';
import { masterNodes, waitForRedis, type RedisClient } from '../../shared/redis';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * The cluster's nodes when the tests run on Redis Cluster (jest.cluster.config.js sets
 * REDIS_CLUSTER_NODES), else undefined: one Redis at TEST_REDIS_URL.
 */
export const TEST_REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES === '' ? undefined : process.env.REDIS_CLUSTER_NODES;

/** The environment that points a service (in process or a child) at the tests' Redis. */
export function testRedisEnv(): Record<string, string> {
  return { REDIS_URL: TEST_REDIS_URL, ...(TEST_REDIS_CLUSTER_NODES === undefined ? {} : { REDIS_CLUSTER_NODES: TEST_REDIS_CLUSTER_NODES }) };
}

/** The tests' Redis as createRedis takes it, read the way the service reads it. */
export const TEST_REDIS: RedisTarget = loadConfig(testRedisEnv()).redis;

/** True when the tests run on a Redis Cluster. */
export const ON_CLUSTER = TEST_REDIS.clusterNodes !== undefined;

export const uniquePrefix = (label = 't') => `bgt-${label}-${randomBytes(5).toString('hex')}`;

/**
 * Deletes every key under a prefix (SCAN, never KEYS), on every master of a cluster: SCAN walks
 * one server's keys. One key per DEL, sent to the master that holds it: a cluster refuses a DEL of
 * keys in different slots even when one master holds them all.
 */
export async function deleteByPrefix(redis: RedisClient, prefix: string): Promise<void> {
  // A cluster knows its masters once it is ready.
  await waitForRedis(redis, 5000);
  await Promise.all(
    masterNodes(redis).map(async (node) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        await Promise.all(keys.map((key) => node.del(key)));
      } while (cursor !== '0');
    }),
  );
}
