// Proves `launch.ts migrate-redis` (shared/migrate-key-layout.ts) against real Redis, BullMQ and
// Postgres: the previous release's layout is seeded as it wrote it (BullMQ queues under
// `<p>:bull`, the one due set `<p>:meters:due`), then moved. Each pending job lands in the
// same-named queue of the new layout with its id, data, options and due time (a retry keeps its
// backoff's due time and the tries it has left), a failed job stays failed, a job the new
// processes already wrote under the id stays theirs, schedules are left to the new workers, and
// the old queues' keys go; the due entries land in their organisations' sharded due keys, which
// the index names, a malformed one is dropped, and the old key goes. What moved runs: the real
// meter pump and refund worker take it. The command exits 0, moves nothing the second time and
// exits 0 again; a queue an old worker is running a job of is refused, untouched, non-zero.
//
// One Redis only (not in jest.cluster.config.js): the old layout cannot exist on a cluster.
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { dueMember, parseDueMember } from '../../shared/calls/meter-due';
import { migrateKeyLayout, oldLayoutKeys, type KeyLayoutMigration } from '../../shared/migrate-key-layout';
import { createLogger } from '../../shared/logger';
import { phoneNumberPrices } from '../../shared/pricing';
import type { QueueMove } from '../../shared/queues/move-queue-jobs';
import { jobIds, KEEP_COMPLETED, KEEP_FAILED, meterJobOptions, moneyJobOptions, provisioningJobOptions, QUEUE_NAMES, rentalJobOptions, type CallMeterJob, type QueueName } from '../../shared/queues/queues';
import { createRedis, masterNodes, type RedisClient } from '../../shared/redis';
import { meterPumpDeps, METER_PUMP_DEFAULTS, pumpDueMeters } from '../../workers/meter-pump';
import { startRefundWorker } from '../../workers/refund-worker';
import { createFundedOrg, createTestContext, testEnv, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { launchRole } from '../support/launch-role';
import { balanceOf } from '../support/provisioning';

const COMMAND_LIMIT_MS = 60_000;
/** How far a moved job's due time may be from the old one's (the add itself, on a loaded machine). */
const DUE_TOLERANCE_MS = 1000;
// BullMQ scores its delayed set with the due ms times 0x1000 (getDelayedScore.lua).
const DELAYED_SCORE_SCALE = 0x1000;

describe('migrate-redis: the previous release key layout into this one', () => {
  let ctx: TestContext;
  let prefix: string;
  const opened: Array<{ close(): Promise<unknown> }> = [];

  beforeAll(async () => {
    // A provisioning retry's backoff long enough that it is still delayed when moved.
    ctx = await createTestContext({ PROVISION_BACKOFF_MS: '60000' });
    prefix = ctx.config.redis.keyPrefix;
  });
  afterAll(async () => {
    await Promise.allSettled(opened.map((o) => o.close()));
    await ctx.close();
  });

  /** A queue of the old layout, as the previous release opened it. */
  const oldQueue = (name: QueueName): Queue => {
    const q = new Queue(name, { connection: ctx.services.redis, prefix: oldLayoutKeys(prefix).bullPrefix });
    opened.push(q);
    return q;
  };
  /** The same-named queue of the new layout (the one the service's processes use). */
  const newQueue = (name: QueueName): Queue => ctx.services.queues.all().find((q) => q.name === name) as Queue;

  /** Takes the next job of an old queue as an old worker would, holding its lock. */
  const takeFromOld = async (name: QueueName, token: string): Promise<Job> => {
    const connection = createRedis(ctx.config.redis, 'blocking', 'old-layout-worker');
    const worker = new Worker(name, null, { connection, prefix: oldLayoutKeys(prefix).bullPrefix, autorun: false });
    opened.push({ close: async () => (await worker.close(), connection.disconnect()) });
    const job = await worker.getNextJob(token);
    if (!job) throw new Error(`no job to take in the old ${name} queue`);
    return job;
  };

  const migrate = (): Promise<KeyLayoutMigration> => migrateKeyLayout({ redis: ctx.services.redis, keys: ctx.services.keys, onCluster: false, log: createLogger('silent') });
  const queueMove = (m: KeyLayoutMigration, name: QueueName): QueueMove => {
    if (m.queues === 'skipped_on_cluster') throw new Error('queues skipped');
    const found = m.queues.find((q) => q.queue === name);
    if (!found || 'error' in found) throw new Error(`no move of ${name}: ${JSON.stringify(found)}`);
    return found;
  };
  const dueAtOf = async (queue: Queue, id: string): Promise<number> => Math.floor(Number(await ctx.services.redis.zscore(queue.toKey('delayed'), id)) / DELAYED_SCORE_SCALE);
  const oldKeys = () => keysMatching(ctx.services.redis, `${oldLayoutKeys(prefix).bullPrefix}:*`);

  it('moves every pending job to its queue in the new layout (id, data, options, due time), keeps a failed job failed, leaves schedules to the new workers, and deletes the old queues', async () => {
    const meters = oldQueue(QUEUE_NAMES.callMeters);
    const renew: CallMeterJob = { kind: 'renew', callId: 'mig:call-1', orgId: 'de300000-0000-4000-8000-0000000000a1', slice: 3, admittedAtMs: Date.now() - 200_000, maxDurationSeconds: 600, expiresAtMs: Date.now() + 400_000, cap: 560, dueAtMs: Date.now() + 60_000 };
    const renewId = jobIds.meter(renew.callId, renew.slice);
    await meters.add('renew', renew, meterJobOptions(renewId, 60_000));
    const renewDueAt = await dueAtOf(meters, renewId);

    // A purchase retrying for ten minutes, now waiting out its backoff after its first failed try.
    const provisioning = oldQueue(QUEUE_NAMES.provisioning);
    const purchaseId = jobIds.provisioning('mig-request-retrying');
    await provisioning.add('provision', { requestId: 'mig-request-retrying' }, { ...provisioningJobOptions(ctx.config, 'mig-request-retrying'), timestamp: Date.now() - 600_000 });
    const trying = await takeFromOld(QUEUE_NAMES.provisioning, 'old-token-1');
    await trying.moveToFailed(new Error('Twilio 503'), 'old-token-1');
    expect(await (await provisioning.getJob(purchaseId))?.getState()).toBe('delayed');
    const retryDueAt = await dueAtOf(provisioning, purchaseId);
    expect(retryDueAt).toBeGreaterThan(Date.now() + 10_000);

    const refunds = oldQueue(QUEUE_NAMES.refunds);
    await refunds.add('refund', { requestId: 'mig-request-a' }, moneyJobOptions(jobIds.refund('mig-request-a')));
    // The new processes' sweeper queued this one already: theirs stays.
    await refunds.add('refund', { requestId: 'mig-request-b' }, moneyJobOptions(jobIds.refund('mig-request-b')));
    await ctx.services.queues.refunds.add('refund', { requestId: 'mig-request-b' }, moneyJobOptions(jobIds.refund('mig-request-b')));
    const theirs = await ctx.services.queues.refunds.getJob(jobIds.refund('mig-request-b'));

    // A recharge's one try, failed: a dead letter.
    const recharges = oldQueue(QUEUE_NAMES.autoRecharges);
    const rechargeId = jobIds.recharge(7, 1);
    await recharges.add('recharge', { orgId: renew.orgId, outboxId: 7, attempt: 1 }, { jobId: rechargeId, attempts: 1, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED });
    const recharging = await takeFromOld(QUEUE_NAMES.autoRecharges, 'old-token-2');
    await recharging.moveToFailed(new Error('Stripe did not answer'), 'old-token-2');
    const deadLetter = await recharges.getJob(rechargeId);
    expect(await deadLetter?.getState()).toBe('failed');
    // Another failed try whose id the new relay has queued again since: the new job stays as it is.
    const requeuedId = jobIds.recharge(8, 1);
    await recharges.add('recharge', { orgId: renew.orgId, outboxId: 8, attempt: 1 }, { jobId: requeuedId, attempts: 1 });
    await (await takeFromOld(QUEUE_NAMES.autoRecharges, 'old-token-4')).moveToFailed(new Error('Stripe did not answer'), 'old-token-4');
    await ctx.services.queues.autoRecharges.add('recharge', { orgId: renew.orgId, outboxId: 8, attempt: 1 }, { jobId: requeuedId, attempts: 1 });

    // A queue an operator paused keeps its waiting jobs in a list of its own.
    const billing = oldQueue(QUEUE_NAMES.callBilling);
    await billing.add('bill-call', { callId: 'mig-billed' }, moneyJobOptions(jobIds.callBilling('mig-billed')));
    await billing.pause();

    await oldQueue(QUEUE_NAMES.maintenance).upsertJobScheduler('sweep-calls', { every: 60_000 }, { name: 'sweep-calls', data: { task: 'sweep-calls' } });

    const m = await migrate();

    expect(m.complete).toBe(true);
    expect(queueMove(m, QUEUE_NAMES.callMeters)).toMatchObject({ moved: 1, active: 0, left: 0, oldKeys: 'deleted' });
    expect(queueMove(m, QUEUE_NAMES.provisioning)).toMatchObject({ moved: 1, oldKeys: 'deleted' });
    expect(queueMove(m, QUEUE_NAMES.refunds)).toMatchObject({ moved: 1, alreadyThere: 1, oldKeys: 'deleted' });
    expect(queueMove(m, QUEUE_NAMES.autoRecharges)).toMatchObject({ moved: 0, failedKept: 1, alreadyThere: 1, oldKeys: 'deleted' });
    expect(queueMove(m, QUEUE_NAMES.maintenance)).toMatchObject({ moved: 0, schedulesDropped: 1, oldKeys: 'deleted' });
    expect(queueMove(m, QUEUE_NAMES.callBilling)).toMatchObject({ moved: 1, oldKeys: 'deleted' });
    expect(queueMove(m, QUEUE_NAMES.rentals)).toMatchObject({ moved: 0, oldKeys: 'none' });

    // The renewal: same id, name, data and options, due when it was.
    const movedRenew = await newQueue(QUEUE_NAMES.callMeters).getJob(renewId);
    expect(await movedRenew?.getState()).toBe('delayed');
    expect([movedRenew?.name, movedRenew?.data]).toEqual(['renew', renew]);
    expect(movedRenew?.opts).toMatchObject({ attempts: 5, backoff: meterJobOptions(renewId, 0).backoff, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED });
    expect(Math.abs((await dueAtOf(newQueue(QUEUE_NAMES.callMeters), renewId)) - renewDueAt)).toBeLessThan(DUE_TOLERANCE_MS);

    // The retry: due when its backoff ends (not ten minutes ago), with the four tries it has left.
    const movedRetry = await newQueue(QUEUE_NAMES.provisioning).getJob(purchaseId);
    expect(await movedRetry?.getState()).toBe('delayed');
    expect(movedRetry?.data).toEqual({ requestId: 'mig-request-retrying' });
    expect(movedRetry?.opts.attempts).toBe(ctx.config.provisioning.maxAttempts - 1);
    expect(Math.abs((await dueAtOf(newQueue(QUEUE_NAMES.provisioning), purchaseId)) - retryDueAt)).toBeLessThan(DUE_TOLERANCE_MS);

    expect(await (await newQueue(QUEUE_NAMES.refunds).getJob(jobIds.refund('mig-request-a')))?.getState()).toBe('waiting');
    expect(await (await newQueue(QUEUE_NAMES.callBilling).getJob(jobIds.callBilling('mig-billed')))?.getState()).toBe('waiting');
    expect((await newQueue(QUEUE_NAMES.refunds).getJob(jobIds.refund('mig-request-b')))?.timestamp).toBe(theirs?.timestamp);

    // The dead letter: still failed, with its reason and its try.
    const keptDeadLetter = await newQueue(QUEUE_NAMES.autoRecharges).getJob(rechargeId);
    expect(await keptDeadLetter?.getState()).toBe('failed');
    expect([keptDeadLetter?.failedReason, keptDeadLetter?.attemptsMade, keptDeadLetter?.finishedOn, keptDeadLetter?.data]).toEqual([
      'Stripe did not answer', 1, deadLetter?.finishedOn, { orgId: renew.orgId, outboxId: 7, attempt: 1 },
    ]);

    const requeued = await newQueue(QUEUE_NAMES.autoRecharges).getJob(requeuedId);
    expect([await requeued?.getState(), requeued?.failedReason, requeued?.attemptsMade]).toEqual(['waiting', undefined, 0]);

    // The schedule's tick was not moved: the new workers run their own schedule.
    expect(await newQueue(QUEUE_NAMES.maintenance).getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 0 });
    expect(await oldKeys()).toEqual([]);
  });

  it("moves the old due set's entries into their organisations' due keys, which the index names; drops a malformed one; the old key goes", async () => {
    const [orgA, orgB] = orgsInTwoSlots(ctx);
    const entryA = dueMember({ orgId: orgA, callId: 'mig|due|a', slice: 2, admittedAtMs: 1, maxDurationSeconds: 600, expiresAtMs: 2, cap: 560, dueAtMs: Date.now() + 90_000 });
    const entryB = dueMember({ orgId: orgB, callId: 'mig-due-b', slice: 2, admittedAtMs: 1, maxDurationSeconds: 600, expiresAtMs: 2, cap: 560, dueAtMs: Date.now() + 95_000 });
    const old = oldLayoutKeys(prefix).meterDue;
    await ctx.services.redis.zadd(old, parseDueMember(entryA)?.dueAtMs ?? 0, entryA, parseDueMember(entryB)?.dueAtMs ?? 0, entryB, 1, '2|not|a|due|entry');

    const m = await migrate();

    expect(m.due).toEqual({ moved: 2, alreadyThere: 0, dropped: 1, oldKeyGone: true });
    const keys = ctx.services.keys;
    expect(await ctx.services.redis.zscore(keys.meterDue(orgA), entryA)).toBe(String(parseDueMember(entryA)?.dueAtMs));
    expect(await ctx.services.redis.zscore(keys.meterDue(orgB), entryB)).toBe(String(parseDueMember(entryB)?.dueAtMs));
    expect(await ctx.services.redis.zrange(keys.meterDueIndex, 0, -1)).toEqual(expect.arrayContaining([keys.meterDueTag(orgA), keys.meterDueTag(orgB)]));
    expect(await ctx.services.redis.exists(old)).toBe(0);
  });

  it('what it moved runs: the meter pump makes the renew job of a moved due entry, the refund worker refunds a moved refund job', async () => {
    const s = ctx.services;
    const orgId = await createFundedOrg(s, 1000);
    const request = await s.provisioning.create({ orgId, prices: phoneNumberPrices(ctx.config.pricing), idempotencyKey: 'mig-refund', fingerprint: 'c'.repeat(64), areaCode: '415', country: 'US', assistantId: undefined, maxAttempts: 5 });
    if (request.outcome !== 'queued') throw new Error(`fixture request not queued: ${request.outcome}`);
    const requestId = request.request.id;
    expect((await s.provisioning.markFailed(requestId, 'fixture: no numbers')).outcome).toBe('failed');
    expect(await balanceOf(ctx, orgId)).toBeLessThan(1000);
    await oldQueue(QUEUE_NAMES.refunds).add('refund', { requestId }, moneyJobOptions(jobIds.refund(requestId)));
    const renewal = dueMember({ orgId, callId: 'mig-pumped', slice: 2, admittedAtMs: Date.now() - 60_000, maxDurationSeconds: 600, expiresAtMs: Date.now() + 60_000, cap: 560, dueAtMs: Date.now() + 500 });
    await s.redis.zadd(oldLayoutKeys(prefix).meterDue, Date.now() + 500, renewal);

    const m = await migrate();
    expect([queueMove(m, QUEUE_NAMES.refunds).moved, m.due]).toEqual([1, { moved: 1, alreadyThere: 0, dropped: 0, oldKeyGone: true }]);

    expect(await pumpDueMeters(meterPumpDeps(s), METER_PUMP_DEFAULTS)).toBeGreaterThanOrEqual(1);
    expect((await s.queues.callMeters.getJob(jobIds.meter('mig-pumped', 2)))?.data).toEqual(parseDueMember(renewal));

    const refunder = startRefundWorker(s);
    opened.push({ close: () => refunder.close(5000) });
    const done = await eventually(async () => {
      const job = await s.queues.refunds.getJob(jobIds.refund(requestId));
      return (await job?.getState()) === 'completed' && job;
    });
    expect(done.returnvalue).toEqual({ outcome: 'refunded' });
    expect(await balanceOf(ctx, orgId)).toBe(1000);
  });

  it('as a command: exits 0; run again, moves nothing and exits 0', async () => {
    await oldQueue(QUEUE_NAMES.walletEvents).add('deliver', { eventId: 41 }, { jobId: jobIds.walletEvent(41), attempts: 3, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED });
    const [orgId] = orgsInTwoSlots(ctx);
    const entry = dueMember({ orgId, callId: 'mig-command', slice: 2, admittedAtMs: 1, maxDurationSeconds: 600, expiresAtMs: 2, cap: 560, dueAtMs: Date.now() + 90_000 });
    await ctx.services.redis.zadd(oldLayoutKeys(prefix).meterDue, Date.now() + 90_000, entry);

    const first = await runCommand(ctx, prefix);
    expect(first.code).toBe(0);
    expect(first.lines.find((l) => l.queue === QUEUE_NAMES.walletEvents)).toMatchObject({ moved: 1, oldKeys: 'deleted' });
    expect(first.lines.find((l) => l.dueSet !== undefined)).toMatchObject({ moved: 1 });
    expect(await (await ctx.services.queues.walletEvents.getJob(jobIds.walletEvent(41)))?.getState()).toBe('waiting');

    const second = await runCommand(ctx, prefix);
    expect(second.code).toBe(0);
    const queueLines = second.lines.filter((l) => l.queue !== undefined);
    expect(queueLines.map((l) => l.queue).sort()).toEqual(Object.values(QUEUE_NAMES).sort());
    for (const line of queueLines) expect(line).toMatchObject({ moved: 0, failedKept: 0, alreadyThere: 0, active: 0, oldKeys: 'none' });
    expect(second.lines.find((l) => l.dueSet !== undefined)).toMatchObject({ moved: 0, alreadyThere: 0, dropped: 0 });
    expect(await oldKeys()).toEqual([]);
    expect(await ctx.services.redis.exists(oldLayoutKeys(prefix).meterDue)).toBe(0);
  });

  it('refuses a queue an old worker is running a job of: moves nothing from it and exits non-zero', async () => {
    const rentals = oldQueue(QUEUE_NAMES.rentals);
    await rentals.add('sweep', { task: 'sweep' }, rentalJobOptions(jobIds.rentSweep('mig-running')));
    await rentals.add('sweep', { task: 'sweep' }, rentalJobOptions(jobIds.rentSweep('mig-waiting')));
    const running = await takeFromOld(QUEUE_NAMES.rentals, 'old-token-3');

    const run = await runCommand(ctx, prefix);

    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/migrate-redis: pending work is left in the old Redis key layout/);
    expect(run.lines.find((l) => l.queue === QUEUE_NAMES.rentals)).toMatchObject({ active: 1, moved: 0, oldKeys: 'kept' });
    expect(await rentals.getJobCounts('active', 'waiting')).toEqual({ active: 1, waiting: 1 });
    expect(await ctx.services.queues.rentals.getJob(jobIds.rentSweep('mig-waiting'))).toBeUndefined();
    await running.moveToCompleted('done', 'old-token-3', false);
  });
});

/** Two organisation ids whose due keys are in different hash slots. */
function orgsInTwoSlots(ctx: TestContext): [string, string] {
  const first = randomUUID();
  for (;;) {
    const other = randomUUID();
    if (ctx.services.keys.meterDueTag(other) !== ctx.services.keys.meterDueTag(first)) return [first, other];
  }
}

async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found.sort();
}

type LogLine = Record<string, unknown> & { msg?: string; queue?: string; dueSet?: string };

/** `tsx bin/launch.ts migrate-redis` with the test's settings, logging at info: its exit code and its log lines. */
async function runCommand(ctx: TestContext, prefix: string): Promise<{ code: number | null; lines: LogLine[]; stderr: string }> {
  const { code, stdout, stderr } = await launchRole('migrate-redis', testEnv(ctx.databaseUrl, prefix, { LOG_LEVEL: 'info' }), COMMAND_LIMIT_MS);
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.msg?.startsWith('migrate-redis:'));
  return { code, lines, stderr };
}
