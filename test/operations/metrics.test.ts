// Proves /metrics over real Redis queues and real HTTP traffic: it needs the operator token, it
// reports queue depth per state and the age of the oldest waiting job for every queue (sampled on
// scrape), and it records HTTP latency per route template (never per raw path).
import request from 'supertest';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { dashboardToken } from '../support/jwt';
import { sampleQueues } from '../../shared/sampling/queue-sampler';
import { createMetrics } from '../../shared/metrics';
import { expectLedgerConsistent } from '../support/invariants';

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** The value of one sample line, e.g. metric{a="b"} 3 → 3; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (want.length === 0 && line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const parts = body.split(',');
    if (want.every((w) => parts.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await Promise.all(ctx.services.queues.all().map((q) => q.obliterate({ force: true }).catch(() => undefined)));
    await ctx.close();
  });

  it('refuses a scrape without the operator token', async () => {
    expect((await request(ctx.app()).get('/metrics')).status).toBe(401);
    expect((await request(ctx.app()).get('/metrics').set('Authorization', 'Bearer wrong-token-123')).status).toBe(401);
  });

  it('reports the due sets of first renewals: how many wait in all of them, and how long the most overdue one has been due', async () => {
    const { redis, keys } = ctx.services;
    const scrape = async () => {
      const res = await request(ctx.app()).get('/metrics').set(admin);
      return { entries: sample(res.text, 'billing_gates_meter_due_entries', {}), overdue: sample(res.text, 'billing_gates_meter_due_overdue_seconds', {}) };
    };
    expect(await scrape()).toEqual({ entries: 0, overdue: 0 });
    // Two organisations in different slots, so two due keys (sharded by slot), both indexed as an
    // admission indexes them: one entry no pump took, due 90 s ago, in the first; one due in a
    // minute (or leased: its score is ahead) in the second.
    const [a, b] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
    expect(keys.meterDueTag(a)).not.toBe(keys.meterDueTag(b));
    await redis.zadd(keys.meterDueIndex, Date.now(), keys.meterDueTag(a), Date.now(), keys.meterDueTag(b));
    await redis.zadd(keys.meterDue(a), Date.now() - 90_000, 'overdue-entry');
    await redis.zadd(keys.meterDue(b), Date.now() + 60_000, 'later-entry');
    try {
      const seen = await scrape();
      expect(seen.entries).toBe(2);
      expect(seen.overdue).toBeGreaterThanOrEqual(90);
      expect(seen.overdue).toBeLessThan(90 + 60);
      await redis.zrem(keys.meterDue(a), 'overdue-entry');
      expect(await scrape()).toEqual({ entries: 1, overdue: 0 });
    } finally {
      await Promise.all([redis.del(keys.meterDue(a)), redis.del(keys.meterDue(b)), redis.del(keys.meterDueIndex)]);
    }
  });

  it('reports jobs per state and the age of the oldest waiting job for every queue', async () => {
    const { provisioning, refunds } = ctx.services.queues;
    // Nothing consumes these queues in this test, so the jobs stay where they are put.
    await provisioning.add('provision', { requestId: 'old' }, { jobId: 'provision-old', timestamp: Date.now() - 90_000 });
    await provisioning.add('provision', { requestId: 'new' }, { jobId: 'provision-new' });
    await refunds.add('refund', { requestId: 'later' }, { jobId: 'refund-later', delay: 60_000 });

    const res = await request(ctx.app()).get('/metrics').set(admin);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(sample(res.text, 'billing_gates_queue_jobs', { queue: 'provisioning', state: 'waiting' })).toBe(2);
    expect(sample(res.text, 'billing_gates_queue_jobs', { queue: 'refunds', state: 'delayed' })).toBe(1);
    expect(sample(res.text, 'billing_gates_queue_jobs', { queue: 'refunds', state: 'waiting' })).toBe(0);
    const age = sample(res.text, 'billing_gates_queue_oldest_waiting_seconds', { queue: 'provisioning' });
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(90 + 60);
    expect(sample(res.text, 'billing_gates_queue_oldest_waiting_seconds', { queue: 'refunds' })).toBe(0);
    for (const q of ['provisioning', 'refunds', 'call-billing', 'maintenance']) {
      expect(sample(res.text, 'billing_gates_queue_jobs', { queue: q, state: 'failed' })).toBe(0);
    }
  });

  it('records latency per route template with method and status', async () => {
    const created = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Metrics Ltd' });
    expect(created.status).toBe(201);
    const orgId = created.body.orgId as string;
    for (const key of ['m1', 'm2']) {
      expect((await request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', key).send({ amount: 5, reason: 'r' })).status).toBe(201);
    }
    await request(ctx.app()).get('/no/such/path/123');
    // Error answers thrown from a handler keep the full template too.
    await request(ctx.app()).post('/api/admin/orgs/7d0c6f2e-0000-4000-8000-000000000000/credits').set(admin).set('Idempotency-Key', 'm3').send({ amount: 1, reason: 'r' });
    await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: '' });
    const res = await request(ctx.app()).get('/metrics').set(admin);
    const count = 'billing_gates_http_request_duration_seconds_count';
    expect(sample(res.text, count, { method: 'POST', route: '/api/admin/orgs', status: '201' })).toBe(1);
    expect(sample(res.text, count, { method: 'POST', route: '/api/admin/orgs/:orgId/credits', status: '201' })).toBe(2);
    expect(sample(res.text, count, { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(sample(res.text, count, { method: 'POST', route: '/api/admin/orgs/:orgId/credits', status: '404' })).toBe(1);
    expect(sample(res.text, count, { method: 'POST', route: '/api/admin/orgs', status: '400' })).toBe(1);
    expect(res.text).not.toMatch(/route="\/orgs/);
    // The raw path (with the org id) never becomes a label.
    expect(res.text).not.toContain(orgId);
    expect(sample(res.text, 'billing_gates_http_request_duration_seconds_bucket', { route: '/api/admin/orgs', le: '+Inf' })).toBe(1);
  });

  it('reports provisioning requests stuck in a non-final state past STUCK_REQUEST_AFTER_SECONDS', async () => {
    const orgId = await createFundedOrg(ctx.services, 3000, 'Stuck Ltd');
    const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
    const ids: string[] = [];
    for (const key of ['s1', 's2']) {
      const r = await request(ctx.app()).post('/api/managed-telephony/provision').set(auth).set('Idempotency-Key', key).send({ areaCode: '415' });
      expect(r.status).toBe(202);
      ids.push(r.body.requestId as string);
    }
    const scrape = async () => sample((await request(ctx.app()).get('/metrics').set(admin)).text, 'billing_gates_stuck_requests', {});
    // No worker runs here, so both stay queued; only one is old enough to count as stuck.
    expect(await scrape()).toBe(0);
    const stuckAfter = ctx.config.sweep.stuckAfterSeconds;
    await ctx.pool.query(`update provisioning_requests set updated_at = now() - make_interval(secs => $1) where id = $2`, [stuckAfter + 60, ids[0]]);
    expect(await scrape()).toBe(1);
  });

  it('keeps the last values and answers when Redis cannot be sampled in time', async () => {
    const metrics = createMetrics();
    const never = { name: 'stalled', getJobCounts: () => new Promise(() => undefined), getJobs: () => new Promise(() => undefined) };
    metrics.queueDepth.set({ queue: 'stalled', state: 'waiting' }, 7);
    const ok = await sampleQueues([never as never], metrics, 50);
    expect(ok).toBe(false);
    expect((await metrics.queueDepth.get()).values.find((v) => v.labels.queue === 'stalled')?.value).toBe(7);
  });
});
