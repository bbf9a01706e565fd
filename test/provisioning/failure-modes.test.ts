// Proves the provisioning saga is immune to failure modes 6, 10, 12, 13 and 14, against real
// Postgres, Redis, BullMQ workers and the simulators over HTTP. Faults are made the way they
// happen: a request row with no job (crash between commit and enqueue), a job removed or failed
// behind the database's back, a third party answering 503, refunds racing each other.
import { Queue, Worker } from 'bullmq';
import { createFundedOrg, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';
import { balanceOf, createProvisioningWorld, numbersNamed, provision, vapiNumbers, waitForRequest, type ProvisioningWorld } from '../support/provisioning';
import { sweepProvisioning } from '../../workers/provisioning-sweeper';
import { jobIds, QUEUE_NAMES } from '../../shared/queues/queues';
import { refundRequest } from '../../shared/provisioning/settle-request';
import { runAttempt } from '../../shared/provisioning/run-attempt';
import { createRedis } from '../../shared/redis';

async function counter(ctx: TestContext, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await ctx.services.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0) ?? 0;
}

/** A debited, queued request written by the SQL function alone: what a crash right after the commit leaves. */
async function requestWithoutJob(w: ProvisioningWorld, orgId: string, key: string, areaCode = '415') {
  const r = await w.ctx.services.provisioning.create({
    orgId, prices: { gbp: 1000 }, idempotencyKey: key, fingerprint: 'c'.repeat(64), areaCode, country: 'US', assistantId: undefined, maxAttempts: 5,
  });
  if (r.outcome !== 'queued') throw new Error(`fixture request not queued: ${r.outcome}`);
  return r.request.id;
}

describe('provisioning failure modes', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({ PROVISION_MAX_ATTEMPTS: '2' });
  });
  afterEach(async () => {
    w.vapi.faults.failureRate = 0;
    w.vapi.faults.failNextRequests = 0;
    w.twilio.faults.failureRate = 0;
    await expectLedgerConsistent(w.ctx.pool);
  });
  afterAll(async () => w.close());

  describe('failure mode 12: charged and forgotten', () => {
    it('completes a request whose job was never queued (crash between commit and enqueue) through the sweeper', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const id = await requestWithoutJob(w, orgId, 'crash-before-enqueue');
      expect(await w.ctx.services.queues.provisioning.getJob(jobIds.provisioning(id))).toBeUndefined();
      const before = await counter(w.ctx, 'billing_gates_sweeper_repairs_total', { repair: 'requeued' });
      await sweepProvisioning(w.ctx.services);
      // Counted by whichever sweep got there first: this one, or the scheduled one the world's
      // workers run on start (the direct call's own report would then say 0).
      expect(await counter(w.ctx, 'billing_gates_sweeper_repairs_total', { repair: 'requeued' })).toBeGreaterThan(before);
      const final = await waitForRequest(w.ctx, orgId, id);
      expect(final).toMatchObject({ status: 'completed', attempts: 1 });
      expect(await balanceOf(w.ctx, orgId)).toBe(0);
    });

    it('re-queues a request whose job was removed from Redis', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const id = await requestWithoutJob(w, orgId, 'job-removed');
      // A job that existed and was then removed (e.g. by an operator in Bull Board).
      const paused = new Queue(QUEUE_NAMES.provisioning, { connection: w.ctx.services.redis, prefix: w.ctx.services.keys.bullPrefixFor(QUEUE_NAMES.provisioning) });
      const job = await paused.add('provision', { requestId: id }, { jobId: jobIds.provisioning(id), delay: 60_000 });
      await job.remove();
      await sweepProvisioning(w.ctx.services);
      expect((await waitForRequest(w.ctx, orgId, id)).status).toBe('completed');
      await paused.close();
    });

    it('refunds a failed request whose refund job was lost, and reports stuck requests', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const id = await requestWithoutJob(w, orgId, 'refund-job-lost');
      expect((await w.ctx.services.provisioning.markFailed(id, 'permanent error, then the process died')).outcome).toBe('failed');
      await sweepProvisioning(w.ctx.services);
      expect((await waitForRequest(w.ctx, orgId, id)).status).toBe('refunded');
      expect(await balanceOf(w.ctx, orgId)).toBe(1000);
      const oldOrg = await createFundedOrg(w.ctx.services, 1000);
      const oldId = await requestWithoutJob(w, oldOrg, 'old-one');
      await w.ctx.pool.query(`update provisioning_requests set updated_at = now() - interval '1 hour' where id = $1`, [oldId]);
      const report = await sweepProvisioning(w.ctx.services);
      expect(report.stuck).toBeGreaterThanOrEqual(1);
      expect(await counter(w.ctx, 'billing_gates_stuck_requests', {})).toBe(report.stuck);
      // The sweep also re-queued it: let it finish so it does not overlap the next test.
      expect((await waitForRequest(w.ctx, oldOrg, oldId)).status).toBe('completed');
    });
  });

  describe('failure mode 13: bought twice', () => {
    it('adopts the number an earlier attempt bought instead of buying a second one', async () => {
      // Attempt 1 buys the Twilio number, then its first Vapi call fails: the attempt fails after
      // the purchase, and attempt 2 must find that number rather than buy another.
      w.vapi.faults.failNextRequests = 1;
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const res = await provision(w.ctx, orgId, 'buy-once', { areaCode: '646' });
      const id = res.body.requestId as string;
      const final = await waitForRequest(w.ctx, orgId, id);
      expect(w.vapi.faults.failNextRequests).toBe(0);
      const bought = await numbersNamed(w.twilio, id);
      expect(final).toMatchObject({ status: 'completed', attempts: 2, phoneNumber: bought[0]?.phone_number });
      expect(await numbersNamed(w.twilio, id)).toHaveLength(1);
      expect(w.twilio.purchaseRequests.get(id)).toBe(1);
    });

    it('leaves one live number when two runs of one request overlap (a stalled job whose worker lived on)', async () => {
      w.twilio.faults.purchaseLatencyMs = 100;
      try {
        const orgId = await createFundedOrg(w.ctx.services, 1000);
        const id = await requestWithoutJob(w, orgId, 'twin-runs', '303');
        const [a, b] = await Promise.all([runAttempt(w.ctx.services, id), runAttempt(w.ctx.services, id)]);
        // One run completes; the other completes too (seeing the first's number) or stops.
        expect([a.kind, b.kind]).toContain('completed');
        expect([a.kind, b.kind].every((k) => k === 'completed' || k === 'final')).toBe(true);
        const final = await waitForRequest(w.ctx, orgId, id);
        const live = await numbersNamed(w.twilio, id);
        expect(live.map((n) => n.phone_number)).toEqual([final.phoneNumber]);
        expect((await vapiNumbers(w.vapi)).filter((p) => p.name === id).map((p) => p.number)).toEqual([final.phoneNumber]);
        const rows = await w.ctx.pool.query('select e164 from phone_numbers where org_id = $1', [orgId]);
        expect(rows.rows).toEqual([{ e164: final.phoneNumber }]);
      } finally {
        w.twilio.faults.purchaseLatencyMs = 0;
      }
    });
    it('completes both overlapping runs when the second adopts the first one\'s number and both import it into Vapi at once', async () => {
      // Run A buys at Twilio at once; run B starts once that number exists, adopts it by name, and
      // both list Vapi before either import lands (every Vapi request takes 150 ms). B's import is
      // answered 400 "already exists": it must adopt A's import, not give the purchase up (which
      // failed and refunded a purchase whose number was live, seen as a flaky fixture, where the
      // sweeper's requeued job and a hand-run attempt overlapped).
      w.vapi.faults.latencyMs = 150;
      try {
        const orgId = await createFundedOrg(w.ctx.services, 1000);
        const id = await requestWithoutJob(w, orgId, 'twin-import', '305');
        const a = runAttempt(w.ctx.services, id);
        await eventually(async () => ((await numbersNamed(w.twilio, id)).length === 1 ? true : undefined), { what: "run A's purchase", everyMs: 5 });
        const b = runAttempt(w.ctx.services, id);
        const outcomes = await Promise.all([a, b]);
        // Each run completes, or finds the request completed by another run (this world's workers
        // may run it too, from the sweeper's requeued job) and stops: none gives up.
        for (const o of outcomes) expect(['completed', 'final']).toContain(o.kind);
        const final = await waitForRequest(w.ctx, orgId, id);
        expect(final.status).toBe('completed');
        expect((await numbersNamed(w.twilio, id)).map((n) => n.phone_number)).toEqual([final.phoneNumber]);
        expect((await vapiNumbers(w.vapi)).filter((p) => p.name === id).map((p) => p.number)).toEqual([final.phoneNumber]);
        expect(await balanceOf(w.ctx, orgId)).toBe(0);
      } finally {
        w.vapi.faults.latencyMs = 0;
      }
    });
  });

  describe('failure modes 14 and 6: orphaned number, swallowed refund error', () => {
    it('releases the bought number before refunding, and retries a failing refund visibly until it succeeds', async () => {
      w.vapi.faults.failureRate = 1; // every Vapi call fails: the import, and the release's lookup
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const failedBefore = await counter(w.ctx, 'billing_gates_refunds_total', { outcome: 'failed' });
      const res = await provision(w.ctx, orgId, 'orphan', { areaCode: '718' });
      const id = res.body.requestId as string;
      await waitForRequest(w.ctx, orgId, id, { until: (b) => b.status === 'failed' });
      // The refund is attempted, fails on the release step, and is counted, never only logged.
      await eventually(async () => (await counter(w.ctx, 'billing_gates_refunds_total', { outcome: 'failed' })) > failedBefore, { what: 'a failed refund counted', everyMs: 20 });
      // While the number may be live, no refund has been paid.
      expect(await numbersNamed(w.twilio, id)).toHaveLength(1);
      expect(await balanceOf(w.ctx, orgId)).toBe(0);
      w.vapi.faults.failureRate = 0;
      // Refund jobs back off; the sweeper (or the job's own retry) drives it home.
      await sweepProvisioning(w.ctx.services);
      const final = await waitForRequest(w.ctx, orgId, id, { timeoutMs: 30_000 });
      expect(final).toMatchObject({ status: 'refunded', refunded: 1000, phoneNumber: null });
      expect(await numbersNamed(w.twilio, id)).toEqual([]);
      expect((await vapiNumbers(w.vapi)).filter((p) => p.name === id)).toEqual([]);
      expect(await balanceOf(w.ctx, orgId)).toBe(1000);
      const refunds = await w.ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'phone_number_refund'", [orgId]);
      expect(refunds.rows[0].n).toBe(1);
    });
  });

  describe('failure mode 10: refund not tied to its debit', () => {
    it('refunds once when the refund job, the sweeper and the old wallet_refund path all race for one failed request', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const id = await requestWithoutJob(w, orgId, 'race-refunds');
      await w.ctx.services.provisioning.markFailed(id, 'permanent');
      const debit = await w.ctx.pool.query('select debit_entry_id from provisioning_requests where id = $1', [id]);
      const debitId = Number(debit.rows[0].debit_entry_id);
      const results = await Promise.allSettled([
        ...Array.from({ length: 8 }, () => refundRequest(w.ctx.services, id)),
        ...Array.from({ length: 8 }, () => w.ctx.pool.query('select provision_request_refund($1) as r', [id])),
        ...Array.from({ length: 4 }, () => w.ctx.services.wallet.refund({ orgId, entryId: debitId, reason: 'second path' })),
        sweepProvisioning(w.ctx.services),
      ]);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      await waitForRequest(w.ctx, orgId, id);
      const refunds = await w.ctx.pool.query("select count(*)::int as n, sum(amount)::int as total from ledger_entries where org_id = $1 and kind = 'phone_number_refund'", [orgId]);
      expect(refunds.rows[0]).toEqual({ n: 1, total: 1000 });
      expect(await balanceOf(w.ctx, orgId)).toBe(1000);
      const row = await w.ctx.pool.query('select status, refunded, refund_entry_id is not null as linked from provisioning_requests where id = $1', [id]);
      expect(row.rows[0]).toEqual({ status: 'refunded', refunded: 1000, linked: true });
    });
  });
});

describe('failure mode 12: a job failed behind the database\'s back', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({}, { workers: false });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  it('fails and refunds a request whose job BullMQ failed without the database knowing (e.g. stalled too often)', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    const id = await requestWithoutJob(w, orgId, 'failed-behind-our-back', '212');
    // A consumer that fails the job with no retries left, as BullMQ does after maxStalledCount:
    // the job ends `failed` in Redis and the request row never hears of it.
    await w.ctx.services.queues.provisioning.add('provision', { requestId: id }, { jobId: jobIds.provisioning(id), attempts: 1 });
    const conn = createRedis(w.ctx.config.redis, 'blocking', 'rogue');
    const rogue = new Worker(QUEUE_NAMES.provisioning, async () => {
      throw new Error('job stalled more than allowable limit');
    }, { connection: conn, prefix: w.ctx.services.keys.bullPrefixFor(QUEUE_NAMES.provisioning) });
    try {
      await eventually(async () => (await (await w.ctx.services.queues.provisioning.getJob(jobIds.provisioning(id)))?.getState()) === 'failed', { what: 'the job failed in BullMQ', everyMs: 20 });
    } finally {
      await rogue.close();
      await conn.quit();
    }
    expect((await w.ctx.pool.query('select status from provisioning_requests where id = $1', [id])).rows[0].status).toBe('queued');

    await w.startWorkers();
    const report = await sweepProvisioning(w.ctx.services);
    expect(report.failed).toBe(1);
    const final = await waitForRequest(w.ctx, orgId, id);
    expect(final).toMatchObject({ status: 'refunded', refunded: 1000 });
    expect(String(final.error)).toMatch(/stalled/);
    expect(await balanceOf(w.ctx, orgId)).toBe(1000);
  });
});
