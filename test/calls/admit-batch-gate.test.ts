// Proves the gate's batching of Postgres-path admissions (Redis down: a test-owned redis-server,
// stopped): simultaneous assistant-requests share transactions and still admit exactly what the
// money covers, each answer matching its own call's hold; and a batch that lands after its
// decisions gave up (a wallet lock held elsewhere) has every element's hold taken back, each as a
// late answer of its own (failure mode 24), another organisation's in the same batch included.
import type { Pool } from 'pg';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createRedisServer, type TestRedisServer } from '../support/redis-server';
import { eventually } from '../support/eventually';
import { assistantRequest, gateCount, postWebhook, registerNumber } from '../support/vapi';

async function heldCalls(pool: Pool, orgId: string): Promise<string[]> {
  const r = await pool.query<{ call_id: string }>("select call_id from calls where org_id = $1 and hold_state = 'held' order by call_id", [orgId]);
  return r.rows.map((x) => x.call_id);
}

describe('Postgres-path admissions in batches (Redis down)', () => {
  let redis: TestRedisServer;
  let ctx: TestContext;
  beforeAll(async () => {
    redis = await createRedisServer();
    await redis.start();
    // The default timeout (2 s): with a short one, a loaded machine (CI beside other work) answered
    // all 100 simultaneous calls of the first case with the fail mode. The second case holds its
    // lock until the answers came, however long the timeout.
    ctx = await createTestContext({ REDIS_URL: redis.url, CALL_GATE_DATABASE_TIMEOUT_MS: '2000' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await redis.start();
    await ctx.close();
    await redis.dispose();
  });

  const batchSizes = async () => {
    const v = (await ctx.services.metrics.admitBatchSize.get()).values;
    return { count: v.find((x) => x.metricName?.endsWith('_count'))?.value ?? 0, sum: v.find((x) => x.metricName?.endsWith('_sum'))?.value ?? 0 };
  };

  it('admits exactly nine of 100 simultaneous calls on 1000 (metered), in shared transactions, each answer its own hold', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await redis.stop();
    const before = await batchSizes();
    const ids = Array.from({ length: 100 }, (_, i) => `hundred-${String(i).padStart(3, '0')}`);
    const all = await Promise.all(ids.map((id) => postWebhook(ctx.app(), assistantRequest(num, id))));
    for (const r of all) expect(r.status).toBe(200);
    const allowed = ids.filter((_, i) => 'assistantId' in all[i]!.body);
    expect(allowed).toHaveLength(9);
    for (const [i, r] of all.entries()) if (!allowed.includes(ids[i]!)) expect(r.body.error).toMatch(/credit/);
    // The calls answered yes are exactly the calls holding money, each with its own hold's time:
    // no answer went to another element of its batch.
    expect(await heldCalls(ctx.pool, orgId)).toEqual([...allowed].sort());
    const rows = await ctx.pool.query<{ call_id: string; max_duration_seconds: number }>('select call_id, max_duration_seconds from calls where org_id = $1', [orgId]);
    const granted = new Map(rows.rows.map((r) => [r.call_id, r.max_duration_seconds]));
    for (const [i, r] of all.entries()) if ('assistantId' in r.body) expect({ id: ids[i], s: (r.body.assistantOverrides as { maxDurationSeconds: number }).maxDurationSeconds }).toEqual({ id: ids[i], s: granted.get(ids[i]!) });
    // The k-th admission saw 1000 − 112k available: floor(a × 60 ÷ 56) − 5 seconds.
    const durations = all.filter((r) => 'assistantId' in r.body).map((r) => (r.body.assistantOverrides as { maxDurationSeconds: number }).maxDurationSeconds);
    expect(durations.sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, k) => Math.floor(((1000 - 112 * k) * 60) / 56) - 5).sort((a, b) => a - b));
    expect(await gateCount(ctx.services, 'allowed', 'database_fallback')).toBeGreaterThanOrEqual(9);
    // Counted per decision, sent in fewer transactions than decisions.
    const after = await batchSizes();
    expect(after.sum - before.sum).toBe(100);
    expect(after.count - before.count).toBeLessThan(100);
    await redis.start();
  });

  it('takes back every hold of a batch that landed after its decisions gave up, each element on its own', async () => {
    const slow = await createFundedOrg(ctx.services, 100_000);
    const fast = await createFundedOrg(ctx.services, 100_000);
    const slowNum = await registerNumber(ctx.services, slow);
    const fastNum = await registerNumber(ctx.services, fast);
    await redis.stop();
    // Numbers into process memory, so the next requests reach the admission at once.
    expect((await postWebhook(ctx.app(), assistantRequest(slowNum, 'warm-slow'))).body.assistantId).toBe(slowNum.assistantId);
    expect((await postWebhook(ctx.app(), assistantRequest(fastNum, 'warm-fast'))).body.assistantId).toBe(fastNum.assistantId);
    const compensated = async () => (await ctx.services.metrics.callHoldEvents.get()).values.find((v) => v.labels.event === 'compensated' && v.labels.store === 'database_fallback')?.value ?? 0;
    const compensatedBefore = await compensated();

    // Another transaction holds the slow organisation's wallet past CALL_GATE_DATABASE_TIMEOUT_MS.
    const blocker = await ctx.pool.connect();
    const ids = ['late-s1', 'late-s2', 'late-s3', 'late-f1', 'late-f2'];
    let answers: Array<{ body: Record<string, unknown> }> = [];
    try {
      await blocker.query('begin');
      await blocker.query('select 1 from wallets where org_id = $1 for update', [slow]);
      answers = await Promise.all(ids.map((id) => postWebhook(ctx.app(), assistantRequest(id.startsWith('late-s') ? slowNum : fastNum, id))));
      await blocker.query('commit');
    } finally {
      blocker.release();
    }
    const refused = ids.filter((_, i) => !('assistantId' in answers[i]!.body));
    for (const a of answers) if (!('assistantId' in a.body)) expect(a.body.error).toMatch(/cannot take your call right now/);
    // The slow organisation's three gave up; a fast one sent in the same batch waited with them
    // (usually both are: the five arrive within the window), one sent alone was admitted.
    expect(refused).toEqual(expect.arrayContaining(['late-s1', 'late-s2', 'late-s3']));
    // The batch lands and places every hold; each refused call's hold is taken back on its own.
    await eventually(async () => ((await compensated()) - compensatedBefore === refused.length ? true : undefined));
    const admitted = ['late-f1', 'late-f2'].filter((id) => !refused.includes(id));
    expect(await heldCalls(ctx.pool, slow)).toEqual(['warm-slow']);
    expect(await heldCalls(ctx.pool, fast)).toEqual(['warm-fast', ...admitted].sort());
    await redis.start();
  });
});
