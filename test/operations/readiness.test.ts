// Proves /readyz tells a load balancer the truth: 200 when Postgres and Redis answer, 503 with the
// failing check named when Redis is unreachable (an app whose REDIS_URL points at a closed port),
// while /healthz (liveness) stays 200 — a Redis outage must not get the process restarted.
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../../api/app';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createRedis } from '../../shared/redis';
import { createServices, type Services } from '../../shared/process/services';
import { createTestContext, testEnv, type TestContext } from '../support/context';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { uniquePrefix } from '../support/redis';
import { freePort } from '../support/redis-server';

describe('/readyz and /healthz', () => {
  let up: TestContext;
  // Built by hand: createTestContext waits for Redis, which here never answers.
  let dbName: string;
  let noRedis: { services: Services; app: Express };
  beforeAll(async () => {
    up = await createTestContext();
    dbName = await createTestDatabase();
    const config = loadConfig(testEnv(databaseUrl(dbName), uniquePrefix('noredis'), { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    // No reconnect loop (retryStrategy → null), so nothing outlives the test once it is closed.
    const redis = createRedis(config.redis, 'fail-fast', 'test-unreachable', { retryStrategy: () => null });
    const services = createServices(config, { log: createLogger(config.logLevel), metrics: createMetrics(), redis });
    noRedis = { services, app: createApp(services) };
  });
  afterAll(async () => {
    await up.close();
    await noRedis.services.close();
    await dropTestDatabase(dbName);
  });

  it('answers 200 ready when Postgres and Redis answer', async () => {
    const res = await request(up.app()).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('answers 503 naming Redis when Redis is unreachable, and stays live', async () => {
    const res = await request(noRedis.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'service_unavailable', message: expect.any(String), checks: { postgres: 'ok', redis: 'down' } });
    expect((await request(noRedis.app).get('/healthz')).status).toBe(200);
  });
});
