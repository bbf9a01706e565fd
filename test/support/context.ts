// One isolated world per test file: its own database (a copy of the migrated template), its own
// Redis key prefix, and the same Services the processes build, so tests run the real code paths.
import { Pool } from 'pg';
import type { RequestListener } from 'node:http';
import { createHttpHandler } from '../../api/webhook-fast-lane';
import { loadConfig, type Config } from '../../shared/config';
import { createPool } from '../../shared/db/pool';
import { createLogger, type Logger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createRedis, waitForRedis } from '../../shared/redis';
import { createServices, type Services } from '../../shared/process/services';
import { createTestDatabase, databaseUrl, dropTestDatabase } from './databases';
import { deleteByPrefix, testRedisEnv, uniquePrefix } from './redis';

export interface TestContext {
  config: Config;
  services: Services;
  /** A separate pool for assertions and fixtures written in SQL. */
  pool: Pool;
  dbName: string;
  databaseUrl: string;
  /** The API as the server runs it: the webhook's fast lane in front of the express app. */
  app(): RequestListener;
  close(): Promise<void>;
}

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789';
export const TEST_VAPI_SECRET = 'test-vapi-secret-0123';

/**
 * The service's environment for a test. A test that points REDIS_URL at a server or proxy of its
 * own (`extra.REDIS_URL`) means that one Redis, so the cluster setting of `npm run test:cluster`
 * is left out for it.
 */
export function testEnv(dbUrl: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: dbUrl,
    ...(extra.REDIS_URL === undefined ? testRedisEnv() : {}),
    REDIS_KEY_PREFIX: prefix,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    VAPI_WEBHOOK_SECRET: TEST_VAPI_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // A workers process started by a test listens where the OS says, never on a fixed port.
    WORKERS_METRICS_PORT: '0',
    ...extra,
  };
}

/** `overrides.log` lets a test capture the service's own log lines (test/security); `clock` moves the call gate's time. */
export async function createTestContext(env: Record<string, string> = {}, overrides: { log?: Logger; clock?: () => number } = {}): Promise<TestContext> {
  const dbName = await createTestDatabase();
  const url = databaseUrl(dbName);
  const prefix = uniquePrefix();
  const config = loadConfig(testEnv(url, prefix, env));
  const services = createServices(config, {
    log: overrides.log ?? createLogger(config.logLevel),
    metrics: createMetrics(),
    redis: createRedis(config.redis, 'fail-fast', 'test'),
    clock: overrides.clock,
  });
  await waitForRedis(services.redis, 5000);
  const pool = createPool(url, { max: 4 });
  let app: RequestListener | undefined;
  return {
    config,
    services,
    pool,
    dbName,
    databaseUrl: url,
    app: () => (app ??= createHttpHandler(services)),
    async close() {
      await deleteByPrefix(services.redis, prefix).catch(() => undefined);
      await services.close();
      await pool.end();
      await dropTestDatabase(dbName);
    },
  };
}

/** Creates an organisation with a wallet, optionally topped up, straight through the store. */
export async function createFundedOrg(services: Services, balance: number, name = 'Acme'): Promise<string> {
  const org = await services.store.createOrg({ name, currency: services.config.pricing.currency });
  if (org.outcome !== 'created') throw new Error('fixture org not created');
  if (balance > 0) {
    const r = await services.wallet.credit({ orgId: org.org_id, amount: balance, idempotencyKey: `fixture-${org.org_id}`, fingerprint: 'f'.repeat(64), reason: 'fixture' });
    if (r.outcome !== 'credited') throw new Error('fixture credit failed');
  }
  return org.org_id;
}
