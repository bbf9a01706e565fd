// Proves that a failed cache write is repaired, not only logged (failure mode 28): the service's
// Redis connection runs through a TCP proxy that the test cuts while a call is charged. Postgres
// takes the charge; the cached balance still shows the money from before it. Once the connection
// is back, the stale balance does not stay in Redis, the next call is not admitted on it, and the
// billed call's Redis hold is released only after the new balance reached Redis.
import { billCall } from '../../shared/calls/call-billing';
import { createRedis, waitForRedis, type RedisClient } from '../../shared/redis';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { TEST_REDIS_URL } from '../support/redis';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/eventually';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber } from '../support/vapi';

describe('balance cache write-through repair', () => {
  let proxy: TcpProxy;
  let ctx: TestContext;
  let direct: RedisClient;
  beforeAll(async () => {
    const target = new URL(TEST_REDIS_URL);
    proxy = await createTcpProxy(target.hostname, Number(target.port || 6379));
    target.port = String(proxy.port);
    ctx = await createTestContext({ REDIS_URL: target.toString() });
    // The test's own view of Redis, not through the proxy.
    direct = createRedis({ url: TEST_REDIS_URL }, 'fail-fast', 'test-direct');
    await waitForRedis(direct, 5000);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await proxy.up();
    await ctx.close();
    await direct.quit();
    await proxy.down();
  });

  const cachedBalance = async (orgId: string) => {
    const v = await direct.hget(ctx.services.keys.wallet(orgId), 'balance');
    return v === null ? null : Number(v);
  };
  const repairs = async (result: string) =>
    (await ctx.services.metrics.balanceCacheRepairs.get()).values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);

  it('repairs the cached balance after a write-through lost to a Redis outage, and admits no call on the stale balance', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const gate = await postWebhook(ctx.app(), assistantRequest(num, 'repair-long'));
    expect(gate.body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, ['repair-long']);
    expect(await cachedBalance(orgId)).toBe(1000);
    const heldBefore = await ctx.services.calls.hot.held(orgId);
    expect(heldBefore).toBeGreaterThan(0);

    // A 1300 s call: ceil(1300 × 56 ÷ 60) = 1214, taking the wallet to −214.
    expect((await postWebhook(ctx.app(), endOfCallReport('repair-long', { orgId, seconds: 1300, num }))).status).toBe(200);
    await proxy.down();
    const billed = await billCall(ctx.services.calls.billing, 'repair-long', 'report');
    expect(billed).toMatchObject({ outcome: 'charged', amount: 1214, balance: -214 });
    // Redis never heard of the charge, and the hold that stood for part of it is still there.
    expect(await cachedBalance(orgId)).toBe(1000);
    expect(Number(await direct.get(`${ctx.services.keys.holds(orgId)}:sum`))).toBe(heldBefore);

    await proxy.up();
    await waitForRedis(ctx.services.redis, 10_000);
    // Repaired: the stale 1000 does not stay (rewritten to −214, or removed so the next read fills from Postgres).
    const repaired = await eventually(async () => {
      const b = await cachedBalance(orgId);
      return b === 1000 ? undefined : b;
    }, { timeoutMs: 15_000 });
    expect([null, -214]).toContain(repaired);
    // Counted by the repair once its write is acknowledged (the balance can be seen a moment before).
    await eventually(async () => ((await repairs('rewritten')) + (await repairs('invalidated')) >= 1 ? true : undefined));
    // …and only then the billed call's hold is released.
    await eventually(async () => ((await ctx.services.calls.hot.held(orgId)) === 0 ? true : undefined));

    // The next call is refused on the real balance (−214), from whichever store answers.
    const next = await postWebhook(ctx.app(), assistantRequest(num, 'repair-next'));
    expect(next.status).toBe(200);
    expect(next.body.error).toMatch(/credit/);
  });
});
