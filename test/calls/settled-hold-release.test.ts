// Proves issue 22, item 1 against real Redis and Postgres: a billed call's Redis hold does not
// outlive its charge when one release command fails. Before, the release after the charge was
// logged and never retried, a metered call's renewals kept growing the hold (no "ended" had come)
// and neither sweeper looked at it: calls were refused as out of credit for up to ~12 h while the
// wallet was full. Each test makes exactly one release fail (the connection's call_gate_release
// command, test/support/redis-faults.ts) and then shows the hold gone and the next call admitted
// on the whole wallet: through the billing job's retry, through the renewal that comes next, and
// through the call sweeper's pass.
import { billCall } from '../../shared/calls/call-billing';
import { parseDueMember } from '../../shared/calls/meter-due';
import type { CallMeterJob } from '../../shared/queues/queues';
import { callSweepDeps, sweepCalls } from '../../workers/call-sweeper';
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { failReleases } from '../support/redis-faults';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber, type TestNumber } from '../support/vapi';
import { eventually } from '../support/eventually';

describe('a settled call whose Redis release failed', () => {
  let ctx: TestContext;
  let worker: ReturnType<typeof startCallBillingWorker>;
  beforeAll(async () => {
    ctx = await createTestContext();
    worker = startCallBillingWorker(ctx.services);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await worker.close(5000);
    await ctx.close();
  });

  const RATE = 56;
  const cost = (seconds: number) => Math.ceil((seconds * RATE) / 60);
  /** What a call admitted on an untouched wallet of `available` is granted (CONTRACT §4.1). */
  const grantedOn = (available: number) => Math.floor((available * 60) / RATE) - 5;
  const recorded = (id: string) => eventually(async () => ((await ctx.pool.query('select 1 from calls where call_id = $1', [id])).rowCount === 1 ? true : undefined));
  const balance = async (orgId: string) => Number((await ctx.pool.query('select balance from wallets where org_id = $1', [orgId])).rows[0].balance);
  const repairs = async (by: string) =>
    (await ctx.services.metrics.callHoldRepairs.get()).values.find((v) => v.labels.repair === 'settled_released' && v.labels.by === by)?.value ?? 0;
  const allRepairs = async () =>
    (await ctx.services.metrics.callHoldRepairs.get()).values.filter((v) => v.labels.repair === 'settled_released').reduce((sum, v) => sum + v.value, 0);

  /**
   * Admits a call and waits until Redis holds it. On a loaded machine (a cluster run beside other
   * work) the gate's Redis step can outlast CALL_GATE_REDIS_TIMEOUT_MS and the answer come from
   * Postgres, whose hold reaches Redis by adoption just after the answer: these tests are about
   * the release, not about which store answered.
   */
  async function admit(orgId: string, num: TestNumber, id: string): Promise<void> {
    expect((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantId).toBe(num.assistantId);
    await recorded(id);
    await eventually(async () => ((await ctx.services.calls.hot.state(orgId, id)) === 'held' ? true : undefined));
  }

  /** The report of a call that lasted `seconds`, recorded as the webhook records it, but with no billing job (the test bills). */
  async function recordReport(orgId: string, num: TestNumber, id: string, seconds: number): Promise<void> {
    const endedAt = new Date();
    await ctx.services.calls.store.recordReport({
      callId: id,
      orgId,
      vapiPhoneNumberId: num.vapiPhoneNumberId,
      e164: null,
      startedAt: new Date(endedAt.getTime() - seconds * 1000).toISOString(),
      endedAt: endedAt.toISOString(),
      durationSeconds: seconds,
      endedReason: 'customer-ended-call',
      source: 'webhook',
    });
  }

  /** Bills the call once, as the sweeper does (no job to retry it), with its Redis release failing. */
  async function billWithReleaseLost(id: string): Promise<void> {
    const restore = failReleases(ctx.services.redis, 1);
    try {
      expect((await billCall(ctx.services.calls.billing, id, 'sweeper')).outcome).toBe('charged');
    } finally {
      restore();
    }
  }

  /** The next call on the wallet is admitted and granted what the whole balance pays for. */
  async function expectNextCallOnFullWallet(orgId: string, num: TestNumber, id: string): Promise<void> {
    const next = await postWebhook(ctx.app(), assistantRequest(num, id));
    expect(next.body.assistantId).toBe(num.assistantId);
    expect(next.body.assistantOverrides.maxDurationSeconds).toBe(grantedOn(await balance(orgId)));
  }

  it("retries the billing job until the call's Redis hold is released, then admits the next call on the full wallet", async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    await admit(orgId, num, 'retry-release');
    expect(await ctx.services.calls.hot.held(orgId)).toBe(96);
    const before = await allRepairs();

    const restore = failReleases(ctx.services.redis, 1);
    try {
      await postWebhook(ctx.app(), endOfCallReport('retry-release', { orgId, seconds: 1, num }));
      // The first attempt charges and loses its release; BullMQ retries the job, which charges
      // nothing (already_billed) and releases the hold.
      await eventually(async () => ((await ctx.services.calls.hot.held(orgId)) === 0 ? true : undefined), { timeoutMs: 15_000 });
    } finally {
      restore();
    }
    expect(await balance(orgId)).toBe(100 - cost(1));
    // Released once, as a repair: on a quiet machine by the job's retry (by="billing_retry"); on a
    // loaded one a renewal or sweep of the settled call can get there first (CI saw it once).
    expect(await allRepairs()).toBe(before + 1);
    await expectNextCallOnFullWallet(orgId, num, 'retry-release-next');
    const { rows } = await ctx.pool.query('select hot_released_at is not null as confirmed from calls where call_id = $1', ['retry-release']);
    expect(rows).toEqual([{ confirmed: true }]);
  });

  it("a renewal of a call already settled in Postgres releases its Redis hold instead of growing it", async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(orgId, num, 'renew-settled');
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112);
    // Its first renewal waits in the due set (written by the admission): the job the pump makes.
    const member = (await ctx.services.redis.zrange(ctx.services.keys.meterDue(orgId), 0, -1)).find((m) => m.endsWith('|renew-settled'));
    const job = parseDueMember(member ?? '') as CallMeterJob;
    expect(job).toMatchObject({ kind: 'renew', callId: 'renew-settled', slice: 2 });

    // The call ended 30 s in (no "ended" status-update came) and was charged; its release was lost.
    await recordReport(orgId, num, 'renew-settled', 30);
    await billWithReleaseLost('renew-settled');
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112);

    // Its renewal comes due: it must not grow the hold of a paid call, and releases it.
    const r = await ctx.services.calls.meters.step(job);
    expect(r).toMatchObject({ outcome: 'released' });
    expect(await ctx.services.calls.hot.held(orgId)).toBe(0);
    expect(await ctx.services.calls.hot.state(orgId, 'renew-settled')).toBe('released');
    expect(await balance(orgId)).toBe(1000 - cost(30));
    await expectNextCallOnFullWallet(orgId, num, 'renew-settled-next');
    // Nothing renews it any more.
    expect(await ctx.services.queues.callMeters.getJob('meter-renew-settled-3')).toBeUndefined();
  });

  it("a call sweep releases the Redis hold of a settled call that nothing retried, wallet first", async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    await admit(orgId, num, 'sweep-settled');
    await recordReport(orgId, num, 'sweep-settled', 1);
    await billWithReleaseLost('sweep-settled');
    expect(await ctx.services.calls.hot.held(orgId)).toBe(96);
    // Refused as out of credit on a wallet of 99 with nothing live.
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'sweep-settled-refused'))).body.error).toMatch(/credit/);
    // The cache also missed the charge: the sweep writes the wallet before it releases.
    await ctx.services.redis.hset(ctx.services.keys.wallet(orgId), 'balance', '100', 'version', '1');
    const before = await repairs('sweeper');

    const summary = await sweepCalls(callSweepDeps(ctx.services), new Date());
    expect(summary).toMatchObject({ holdsReleased: 1, errors: 0 });
    expect(await ctx.services.calls.hot.held(orgId)).toBe(0);
    expect(Number(await ctx.services.redis.hget(ctx.services.keys.wallet(orgId), 'balance'))).toBe(100 - cost(1));
    expect(await repairs('sweeper')).toBe(before + 1);
    await expectNextCallOnFullWallet(orgId, num, 'sweep-settled-next');
    // Confirmed: the next pass has nothing left to do for it.
    expect((await sweepCalls(callSweepDeps(ctx.services), new Date())).holdsReleased).toBe(0);
    const { rows } = await ctx.pool.query('select hot_released_at is not null as confirmed from calls where call_id = $1', ['sweep-settled']);
    expect(rows).toEqual([{ confirmed: true }]);
  });

  it('renewals that run together, one of a settled call and one of a live one, each get their own call\'s answer from the batched question', async () => {
    // Two calls on one wallet; one is charged with its release lost. Their renewals run at the
    // same moment (as the meter worker runs 50 at once), so one calls_settled answers both: the
    // settled call's hold is released, the live one's grows by its slice.
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(orgId, num, 'batch-settled');
    await admit(orgId, num, 'batch-live');
    const due = await ctx.services.redis.zrange(ctx.services.keys.meterDue(orgId), 0, -1);
    const jobOf = (id: string) => parseDueMember(due.find((m) => m.endsWith(`|${id}`)) ?? '') as CallMeterJob;
    await recordReport(orgId, num, 'batch-settled', 30);
    await billWithReleaseLost('batch-settled');
    const [settled, live] = await Promise.all([ctx.services.calls.meters.step(jobOf('batch-settled')), ctx.services.calls.meters.step(jobOf('batch-live'))]);
    expect(settled).toMatchObject({ outcome: 'released' });
    expect(live).toMatchObject({ outcome: 'renewed' });
    expect(await ctx.services.calls.hot.state(orgId, 'batch-settled')).toBe('released');
    expect(await ctx.services.calls.hot.state(orgId, 'batch-live')).toBe('held');
  });

  it('calls_settled names the settled calls of a batch once each, in order: by their row or by a billed report', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(orgId, num, 'q-row-settled');
    await admit(orgId, num, 'q-held');
    await recordReport(orgId, num, 'q-row-settled', 5);
    await billWithReleaseLost('q-row-settled');
    // A report billed before the call's row exists (no admission recorded for it).
    await recordReport(orgId, num, 'q-report-only', 5);
    expect((await billCall(ctx.services.calls.billing, 'q-report-only', 'sweeper')).outcome).toBe('charged');
    const asked = ['q-held', 'q-report-only', 'q-unknown', 'q-row-settled', 'q-report-only'];
    const settled = await ctx.services.calls.store.settledAmong(asked);
    expect([...settled]).toEqual(['q-report-only', 'q-row-settled']);
  });
});
