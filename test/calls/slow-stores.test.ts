// Proves the gate's time bounds with stores that are up but stalled (a TCP proxy that holds every
// byte): Redis slower than CALL_GATE_REDIS_TIMEOUT_MS → the decision comes from Postgres (reason
// redis_timeout); the whole decision outlasting CALL_GATE_DECISION_DEADLINE_MS → the fail mode
// answers 200 with a spoken refusal (reason deadline). No timings are asserted, only outcomes.
import { createHttpHandler } from '../../api/webhook-fast-lane';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices } from '../../shared/process/services';
import { createRedis } from '../../shared/redis';
import { createFundedOrg, createTestContext, testEnv, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { assistantRequest, gateCount, postWebhook, registerNumber } from '../support/vapi';

describe('slow stores', () => {
  let redisProxy: TcpProxy;
  let pgProxy: TcpProxy;
  let ctx: TestContext;
  beforeAll(async () => {
    const r = new URL(TEST_REDIS_URL);
    redisProxy = await createTcpProxy(r.hostname, Number(r.port || 6379));
    pgProxy = await createTcpProxy('127.0.0.1', 5432);
    // Redis through the proxy; Postgres direct.
    ctx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`, CALL_GATE_REDIS_TIMEOUT_MS: '100' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await redisProxy.up();
    await pgProxy.up();
    await ctx.close();
    await redisProxy.down();
    await pgProxy.down();
  });

  const fallbackCount = async (reason: string, to: string) =>
    (await ctx.services.metrics.fallbacks.get()).values.filter((v) => v.labels.reason === reason && v.labels.to === to).reduce((n, v) => n + v.value, 0);

  it('decides from Postgres when Redis answers too slowly, then from the cache again when it recovers', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'slow-1'))).body.assistantOverrides.maxDurationSeconds).toBe(1066);
    const other = await createFundedOrg(ctx.services, 1000, 'Other');
    const otherNum = await registerNumber(ctx.services, other);

    redisProxy.stall();
    const res = await postWebhook(ctx.app(), assistantRequest(otherNum, 'slow-2'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ assistantId: otherNum.assistantId, assistantOverrides: { maxDurationSeconds: 1066, metadata: { orgId: other } } });
    expect(await gateCount(ctx.services, 'allowed', 'database_fallback')).toBe(1);
    expect(await fallbackCount('redis_timeout', 'database')).toBeGreaterThanOrEqual(1);

    await redisProxy.up();
    const fromCache = async () => (await gateCount(ctx.services, 'allowed', 'cache')) + (await gateCount(ctx.services, 'refused_insufficient_funds', 'cache'));
    const before = await fromCache();
    await postWebhook(ctx.app(), assistantRequest(num, 'slow-3')); // refused or allowed, from the cache
    expect(await fromCache()).toBe(before + 1);
  });

  it('answers with the fail mode when the whole decision outlasts its deadline', async () => {
    // A second world on the same database, reached through the stalling Postgres proxy, whose
    // decision deadline is shorter than its Postgres timeout.
    const url = new URL(ctx.databaseUrl);
    url.port = String(pgProxy.port);
    const config = loadConfig(
      testEnv(url.toString(), uniquePrefix('slow'), {
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        CALL_GATE_REDIS_TIMEOUT_MS: '100',
        CALL_GATE_DATABASE_TIMEOUT_MS: '5000',
        CALL_GATE_DECISION_DEADLINE_MS: '300',
      }),
    );
    // A short disconnectTimeout: the stall makes ioredis reconnect, and its default 2 s timer would outlive the test.
    const redis = createRedis(config.redis, 'fail-fast', 'test', { disconnectTimeout: 10 });
    const services = createServices(config, { log: createLogger(config.logLevel), metrics: createMetrics(), redis });
    try {
      redisProxy.stall();
      pgProxy.stall();
      const res = await postWebhook(createHttpHandler(services), assistantRequest({ vapiPhoneNumberId: 'pn-slow', e164: '+14155550777' }, 'slow-deadline'));
      expect(res.status).toBe(200);
      expect(res.body.error).toMatch(/cannot take your call right now/);
      expect(await gateCount(services, 'refused_unavailable', 'fail_mode')).toBe(1);
      const deadline = (await services.metrics.fallbacks.get()).values.find((v) => v.labels.reason === 'deadline');
      expect(deadline?.value).toBe(1);
    } finally {
      await redisProxy.up();
      await pgProxy.up();
      await services.close();
    }
  });
});
