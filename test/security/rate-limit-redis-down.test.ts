// Proves the failed-authentication limiter is only a brake: while its Redis is down (a test-owned
// redis-server, stopped), requests are neither throttled nor turned into 5xx — authentication
// still decides (401 without credentials, 200 for Vapi and the operator) — and once Redis is back
// the limiter counts again.
import request from 'supertest';
import { createTestContext, TEST_ADMIN_TOKEN, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { createRedisServer, type TestRedisServer } from '../support/redis-server';

const LIMIT = 5;

describe('the limiter while Redis is down', () => {
  let redis: TestRedisServer;
  let ctx: TestContext;
  beforeAll(async () => {
    redis = await createRedisServer();
    await redis.start();
    ctx = await createTestContext({ REDIS_URL: redis.url, AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
  });
  afterAll(async () => {
    await redis.start();
    await ctx.close();
    await redis.dispose();
  });

  const message = { message: { type: 'conversation-update', messages: [] } };
  const unauthenticated = () => request(ctx.app()).post('/api/vapi/webhook').send(message);

  it('lets authentication decide while Redis is down, and counts again when it is back', async () => {
    await redis.stop();
    for (let i = 0; i < LIMIT * 3; i++) expect((await unauthenticated()).status).toBe(401);
    expect((await request(ctx.app()).post('/api/vapi/webhook').set('x-vapi-secret', TEST_VAPI_SECRET).send(message)).status).toBe(200);
    expect((await request(ctx.app()).get('/metrics').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).status).toBe(200);

    await redis.start();
    // The fail-fast client reconnects in the background; wait for it like a new process would.
    for (let i = 0; i < 100 && ctx.services.redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) statuses.push((await unauthenticated()).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429, 429]);
  });
});
