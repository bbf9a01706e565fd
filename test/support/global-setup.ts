// Runs once before all test files: checks the real services answer and prepares the template.
import { createRedis, waitForRedis } from '../../shared/redis';
import { ensureTemplate } from './databases';
import { TEST_REDIS, TEST_REDIS_CLUSTER_NODES, TEST_REDIS_URL } from './redis';

export default async function globalSetup(): Promise<void> {
  const where = TEST_REDIS_CLUSTER_NODES === undefined ? `Redis at ${TEST_REDIS_URL} (set REDIS_URL)` : `the Redis Cluster at ${TEST_REDIS_CLUSTER_NODES} (start it with: bash .ci/redis-cluster)`;
  const redis = createRedis(TEST_REDIS, 'fail-fast', 'global-setup', { retryStrategy: () => null });
  try {
    await waitForRedis(redis, 5000);
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need ${where}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  await ensureTemplate();
}
