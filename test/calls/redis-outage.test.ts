// Proves the gate keeps deciding correctly while Redis is down: a test-owned redis-server is
// stopped, assistant-requests are answered from Postgres (holds included, path
// database_fallback), and once Redis is back (empty) the cache decides again, refilled from
// Postgres with the holds placed meanwhile (path cache). An end-of-call report arriving while
// Redis is down is kept in Postgres and billed once Redis is back (re-enqueued by the sweeper).
// Simultaneous calls on the fallback path are serialised by the wallet row lock (failure mode 17).
import { waitForRedis } from '../../shared/redis';
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { callSweepDeps, sweepCalls } from '../../workers/call-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createRedisServer, type TestRedisServer } from '../support/redis-server';
import { eventually } from '../support/eventually';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, endOfCallReport, gateCount, postWebhook, registerNumber } from '../support/vapi';

describe('Redis outage', () => {
  let redis: TestRedisServer;
  let ctx: TestContext;
  beforeAll(async () => {
    redis = await createRedisServer();
    await redis.start();
    // No Vapi API here: the sweep below only re-enqueues; its GET /call attempts fail fast and are retried later.
    ctx = await createTestContext({ REDIS_URL: redis.url, VAPI_API_BASE_URL: 'http://127.0.0.1:9', CALL_HOLD_POLICY: 'full' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await redis.start();
    await ctx.close();
    await redis.dispose();
  });

  it('answers from Postgres while Redis is down, honouring holds placed through Redis, and uses the cache again once Redis is back', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const big = await createFundedOrg(ctx.services, 1000, 'Big');
    const num = await registerNumber(ctx.services, orgId);
    const bigNum = await registerNumber(ctx.services, big);

    // Up: one call holds almost all of the 100 through Redis.
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'out-1'))).body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, ['out-1']);
    const cacheBefore = await gateCount(ctx.services, 'allowed', 'cache');

    await redis.stop();
    // Down: Postgres decides, with the same numbers the cache would have used.
    const refused = await postWebhook(ctx.app(), assistantRequest(num, 'out-2'));
    expect(refused.status).toBe(200);
    expect(refused.body.error).toMatch(/credit/);
    const allowed = await postWebhook(ctx.app(), assistantRequest(bigNum, 'out-3'));
    expect(allowed.body).toEqual({ assistantId: bigNum.assistantId, assistantOverrides: { maxDurationSeconds: 1066, metadata: { orgId: big } } });
    expect(await gateCount(ctx.services, 'allowed', 'database_fallback')).toBe(1);
    expect(await gateCount(ctx.services, 'refused_insufficient_funds', 'database_fallback')).toBe(1);
    const fallbacks = (await ctx.services.metrics.fallbacks.get()).values.filter((v) => v.labels.gate === 'call' && v.labels.to === 'database');
    expect(fallbacks.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(2);
    // A repeat of the admitted call is answered the same from Postgres, without a second hold.
    expect((await postWebhook(ctx.app(), assistantRequest(bigNum, 'out-3'))).body).toEqual(allowed.body);

    await redis.start();
    // Back (and empty): the cache path decides again, refilled from Postgres including the
    // hold that Postgres placed while Redis was down.
    const again = await eventually(async () => {
      const r = await postWebhook(ctx.app(), assistantRequest(bigNum, `out-back-${Date.now()}`));
      return (await gateCount(ctx.services, 'refused_insufficient_funds', 'cache')) + (await gateCount(ctx.services, 'allowed', 'cache')) > cacheBefore ? r : undefined;
    });
    expect(again.body.error).toMatch(/credit/); // out-3 still holds 995 of the 1000
    expect(Object.keys(await ctx.services.redis.hgetall(ctx.services.keys.holds(big)))).toContain('out-3');
  });

  it('keeps a report that arrives while Redis is down and bills it once Redis is back', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await redis.stop();
    const res = await postWebhook(ctx.app(), endOfCallReport('out-report', { orgId, seconds: 60, num }));
    expect([res.status, res.body]).toEqual([200, { received: true }]);
    const row = await ctx.pool.query('select org_id, billed_at from call_reports where call_id = $1', ['out-report']);
    expect(row.rows).toEqual([{ org_id: orgId, billed_at: null }]);

    await redis.start();
    await waitForRedis(ctx.services.redis, 10_000);
    const swept = await sweepCalls(callSweepDeps(ctx.services), new Date(Date.now() + 3600_000));
    expect(swept.reenqueued).toBe(1);
    const worker = startCallBillingWorker(ctx.services);
    try {
      await eventually(async () => ((await ctx.pool.query('select 1 from call_reports where call_id = $1 and billed_at is not null', ['out-report'])).rowCount === 1 ? true : undefined));
    } finally {
      await worker.close(5000);
    }
    const charges = await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call'", [orgId]);
    expect(charges.rows.map((r) => Number(r.amount))).toEqual([-56]);
  });

  it('allows one of ten simultaneous calls on a balance that covers one while Redis is down', async () => {
    const orgId = await createFundedOrg(ctx.services, 150);
    const num = await registerNumber(ctx.services, orgId);
    await redis.stop();
    try {
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => postWebhook(ctx.app(), assistantRequest(num, `out-ten-${i}`))));
      for (const r of all) expect(r.status).toBe(200);
      expect(all.filter((r) => 'assistantId' in r.body)).toHaveLength(1);
      const held = await ctx.pool.query("select count(*)::int as n from calls where org_id = $1 and admitted_path = 'database_fallback'", [orgId]);
      expect(held.rows[0].n).toBe(1);
    } finally {
      await redis.start();
      await waitForRedis(ctx.services.redis, 10_000);
    }
  });
});
