// Proves what the gate leaves behind when a store answers late or not at all, with the service's
// Redis behind a TCP proxy a test can stall or cut (real Redis, real Postgres): a Redis answer
// that lands after the gate refused the call is taken back (failure mode 24), and a hold placed on
// the Postgres path while Redis was away reaches Redis.
import { NO_SPEND_CONTROLS } from '../../shared/wallet/wallet-controls';
import { meterSweepDeps, sweepMeters } from '../../workers/meter-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { TEST_REDIS_URL } from '../support/redis';
import { waitForRedis } from '../../shared/redis';
import { eventually } from '../support/eventually';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

describe('late and absent store answers', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  beforeAll(async () => {
    const target = new URL(TEST_REDIS_URL);
    proxy = await createTcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.up();
    ctx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await proxy.up();
    await ctx.close();
    await proxy.down();
  });

  const compensated = async () => (await ctx.services.metrics.callHoldEvents.get()).values.find((v) => v.labels.event === 'compensated' && v.labels.store === 'cache')?.value ?? 0;

  it('takes back a hold that Redis placed after the gate had refused the call (failure mode 24)', async () => {
    // Postgres has nothing; the cache still shows 1000 (the stale balance a slow Redis would decide on).
    const orgId = await createFundedOrg(ctx.services, 0);
    const num = await registerNumber(ctx.services, orgId);
    await ctx.services.cache.put(orgId, { balance: 1000, version: 1_000_000, currency: 'gbp', controls: NO_SPEND_CONTROLS });
    // Resolves the number into process memory, so the next decision asks Redis only for the hold.
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'warm'))).body.assistantId).toBe(num.assistantId);
    const before = await compensated();

    proxy.stall();
    const refused = await postWebhook(ctx.app(), assistantRequest(num, 'late'));
    expect(refused.body.error).toMatch(/credit/); // Postgres decided: nothing available
    await proxy.up(); // Redis now runs the decision it was sent, and places a hold for 'late'
    await eventually(async () => ((await compensated()) > before ? true : undefined));
    expect(await ctx.services.redis.hget(ctx.services.keys.holds(orgId), 'late')).toBeNull();
    expect(await ctx.services.redis.hget(ctx.services.keys.holds(orgId), 'warm')).not.toBeNull();
  });

  it('copies into Redis a hold the Postgres path placed while Redis was away', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'warm-2'))).body.assistantId).toBe(num.assistantId);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112);

    await proxy.down();
    const viaPostgres = await postWebhook(ctx.app(), assistantRequest(num, 'while-away'));
    expect(viaPostgres.body.assistantId).toBe(num.assistantId);
    await proxy.up();
    await waitForRedis(ctx.services.redis, 5000);
    await holdsRecorded(ctx.pool, ['warm-2']);

    // The answer's own copy failed with Redis away; the sweeper's pass repairs it.
    await sweepMeters(meterSweepDeps(ctx.services));
    expect(await ctx.services.redis.hget(ctx.services.keys.holds(orgId), 'while-away')).not.toBeNull();
    expect(await ctx.services.calls.hot.held(orgId)).toBe(224);
  });
});
