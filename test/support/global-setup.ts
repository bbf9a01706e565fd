// Runs once before all test files: checks the real services answer and prepares the template.
import { Redis } from 'ioredis';
import { ensureTemplate } from './databases';
import { TEST_REDIS_URL } from './redis';

export default async function globalSetup(): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need Redis at ${TEST_REDIS_URL} (set REDIS_URL): ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  await ensureTemplate();
}
