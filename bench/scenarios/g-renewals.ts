// (g) Renewals of metered holds (issue 10): 1,000 live calls on 100 funded wallets (10 each),
// placed in Redis through the real admission script (hot.decide) and recorded in Postgres as the
// gate records them. Two rows:
//   g-renewals         throughput: BENCH_RENEWAL_ROUNDS × 1,000 renewals (slice 2 for every call,
//                      then 3, …) through hot.renew (Lua call_meter_renew) at BENCH_CONCURRENCY,
//                      vs the same number of EVALSHA calls of a script with the same KEYS/ARGV
//                      shape that only returns 1, at the same concurrency on the same connection;
//                      the two alternate round by round (ABBA…), time summed per side.
//   g-renewal-lateness 1,000 `renew` jobs on the real call-meters queue, delayed as createMeters
//                      schedules them (addBulk of METER_BATCH_MAX, meterJobOptions, jobIds.meter),
//                      all due at one moment, run by the real meter worker (startCallMeterWorker:
//                      step() = Lua renewal, the next slice's job, the Postgres copy). Per job:
//                      processing start − dueAtMs. Baseline: the same 1,000 delayed jobs on a queue
//                      of its own, run by a no-op worker at the same concurrency (BullMQ's floor).
// Outcomes are counted on both rows; the wallets cover every renewal, so anything but `renewed`
// is reported as a problem of the run, not hidden in the figures.
import { Queue, Worker, type Job } from 'bullmq';
import { holdRecord, type StoredHold } from '../../shared/calls/call-store';
import { METER_BATCH_MAX } from '../../shared/calls/call-meter';
import type { HoldTerms } from '../../shared/calls/redis-holds';
import { callCharge } from '../../shared/pricing';
import { jobIds, meterJobOptions, QUEUE_NAMES, type CallMeterJob } from '../../shared/queues/queues';
import { createRedis, type RedisClient } from '../../shared/redis';
import { CALL_METER_CONCURRENCY, startCallMeterWorker } from '../../workers/call-meter-worker';
import { submitAll, waitSettled } from '../lib/drain';
import { fundedOrg } from '../lib/fixtures';
import { fromHistogram, newHistogram } from '../lib/loop-load';
import type { Measurement, Scenario } from '../lib/types';
import { createWorld, type BenchWorld } from '../lib/world';

const WALLETS = 100;
const CALLS_PER_WALLET = 10;
/** How far ahead of their common due time the lateness jobs are written. */
const DUE_AHEAD_MS = 3000;

interface LiveCall {
  orgId: string;
  hold: StoredHold;
}

type NoopRenew = RedisClient & { benchRenewNoop(...args: Array<string | number>): Promise<number> };

const tally = (counts: Map<string, number>) =>
  [...counts.entries()]
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

/** 100 funded wallets, cached in Redis, with 10 live metered holds each, recorded in Postgres. */
async function liveCalls(world: BenchWorld): Promise<LiveCall[]> {
  const { config, calls } = world.services;
  const terms: HoldTerms = {
    ratePerMinute: config.pricing.callRatePerMinute,
    minBalance: config.pricing.callMinBalance,
    safetyMarginSeconds: config.callGate.safetyMarginSeconds,
    holdGraceSeconds: config.callGate.holdGraceSeconds,
    policy: 'metered',
    holdSeconds: config.callGate.holdSeconds,
  };
  const out: LiveCall[] = [];
  for (let w = 0; w < WALLETS; w++) {
    const orgId = await fundedOrg(world.services, 1, `Bench Meter ${w}`);
    const snap = await calls.store.gateSnapshot(orgId);
    if (snap.outcome !== 'found') throw new Error('bench wallet has no gate snapshot');
    await calls.hot.fill(orgId, snap);
    for (let c = 0; c < CALLS_PER_WALLET; c++) {
      const callId = `meter-${w}-${c}`;
      const now = Date.now();
      const d = await calls.hot.decide(orgId, callId, terms, now);
      if (d.outcome !== 'held') throw new Error(`bench hold not placed: ${d.outcome}`);
      out.push({
        orgId,
        hold: { call_id: callId, state: 'held', amount: d.hold_amount, max_duration_seconds: d.max_duration_seconds, expires_at_ms: d.expires_at_ms, admitted_at_ms: now, cap: d.cap, slices: 1 },
      });
    }
  }
  const holdSeconds = config.callGate.holdSeconds;
  for (let i = 0; i < out.length; i += 200) {
    const r = await calls.store.recordHolds(out.slice(i, i + 200).map((c) => holdRecord(c.orgId, c.hold, 'metered', Math.min(holdSeconds, c.hold.max_duration_seconds))));
    if (r.rejected > 0) throw new Error(`bench holds rejected by Postgres: ${r.rejected_call_ids.slice(0, 3).join(', ')}`);
  }
  return out;
}

/** One side of an interleaved comparison: blocks of operations (drain.ts), one histogram, summed time. */
class Interleaved {
  private readonly h = newHistogram();
  private ms = 0;
  private accepted = 0;
  private errors = 0;
  private firstError: string | undefined;
  constructor(private readonly label: string) {}
  async block(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
    const sent = await submitAll(count, concurrency, op, this.h);
    this.ms += sent.finishedAt - sent.startedAt;
    this.accepted += sent.accepted;
    this.errors += sent.errors;
    this.firstError ??= sent.firstError;
  }
  result(progress: (line: string) => void): Measurement {
    if (this.firstError) progress(`${this.label}: first error: ${this.firstError}`);
    return fromHistogram(this.label, this.h, this.accepted, this.errors, this.ms / 1000, 'ops/s');
  }
}

/** Writes one delayed job per entry, all due at `dueAtMs`, in addBulk batches as createMeters does. */
async function enqueueDue(queue: Queue, jobs: CallMeterJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += METER_BATCH_MAX) {
    await queue.addBulk(jobs.slice(i, i + METER_BATCH_MAX).map((data) => ({ name: data.kind, data, opts: meterJobOptions(jobIds.meter(data.callId, data.slice), data.dueAtMs - Date.now()) })));
  }
}

interface LatenessRun {
  measurement: Measurement;
  maxMs: number;
  enqueueMs: number;
  outcomes: Map<string, number>;
  failures: number;
}

/**
 * Starts `worker` (already constructed, not yet running jobs), writes `jobs` due in DUE_AHEAD_MS,
 * and records per job (first attempt) processing start − dueAtMs until all have settled.
 */
async function lateness(label: string, queue: Queue, worker: Worker, jobs: (dueAtMs: number) => CallMeterJob[], outcome: (job: Job, value: unknown) => string, progress: (line: string) => void): Promise<LatenessRun> {
  const h = newHistogram();
  const seen = new Set<string>();
  const outcomes = new Map<string, number>();
  let maxMs = 0;
  let settled = 0;
  let failures = 0;
  let lastDone = 0;
  worker.on('active', (job: Job) => {
    const id = job.id ?? '';
    if (seen.has(id)) return; // a retry: lateness is the first attempt's
    seen.add(id);
    const late = Date.now() - (job.data as CallMeterJob).dueAtMs;
    maxMs = Math.max(maxMs, late);
    h.recordValue(Math.max(1, Math.round(late * 1000)));
  });
  worker.on('completed', (job: Job, value: unknown) => {
    bump(outcomes, outcome(job, value));
    settled++;
    lastDone = Date.now();
  });
  worker.on('failed', (job: Job | undefined) => {
    if (job && job.attemptsMade < (job.opts.attempts ?? 1)) return; // will be retried
    failures++;
    settled++;
    lastDone = Date.now();
  });
  await worker.waitUntilReady();
  const t0 = Date.now();
  const dueAtMs = t0 + DUE_AHEAD_MS;
  const batch = jobs(dueAtMs);
  await enqueueDue(queue, batch);
  const enqueueMs = Date.now() - t0;
  if (enqueueMs >= DUE_AHEAD_MS) progress(`${label}: WARNING writing the jobs took ${enqueueMs} ms, past their due time`);
  await waitSettled(label, batch.length, async () => settled, progress);
  const seconds = Math.max(1, lastDone - dueAtMs) / 1000;
  return { measurement: fromHistogram(label, h, settled - failures, failures, seconds, 'jobs/s'), maxMs, enqueueMs, outcomes, failures };
}

async function metricLateness(world: BenchWorld): Promise<{ count: number; sum: number }> {
  const { values } = await world.services.metrics.callRenewalLateness.get();
  const pick = (suffix: string) => values.find((v) => v.metricName === `billing_gates_call_renewal_lateness_seconds_${suffix}`)?.value ?? 0;
  return { count: pick('count'), sum: pick('sum') };
}

export const scenario: Scenario = {
  name: 'g-renewals',
  title: 'metered-hold renewals (Lua call_meter_renew) for 1,000 live calls on 100 wallets vs a no-op script of the same shape',
  async run(settings, progress) {
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL, env: { CALL_HOLD_POLICY: 'metered' } });
    const { config, calls, keys } = world.services;
    const noopConn = createRedis(config.redis, 'blocking', 'bench-meter-noop');
    const noopName = `${QUEUE_NAMES.callMeters}-bench-noop`;
    const noopQueue = new Queue(noopName, { connection: world.services.redis, prefix: keys.bullPrefixFor(noopName) });
    try {
      const live = await liveCalls(world);
      progress(`${live.length} live metered holds on ${WALLETS} wallets`);
      const rate = config.pricing.callRatePerMinute;
      const sliceAmount = callCharge(config.pricing, config.callGate.holdSeconds);
      const rounds = settings.BENCH_RENEWAL_ROUNDS;
      const count = rounds * live.length;
      const concurrency = settings.BENCH_CONCURRENCY;

      // (1) Throughput: renewals vs the no-op script, same connection and shape.
      const connection = world.services.redis;
      if (!('benchRenewNoop' in connection)) connection.defineCommand('benchRenewNoop', { numberOfKeys: 4, lua: 'return 1' });
      const redis = connection as NoopRenew;
      const keysOf = (orgId: string) => {
        const holds = keys.holds(orgId);
        return [keys.wallet(orgId), holds, `${holds}:expiry`, `${holds}:sum`];
      };
      const call = (i: number) => ({ c: live[i % live.length]!, slice: 2 + Math.floor(i / live.length) });
      const renewOutcomes = new Map<string, number>();
      const noop = async (i: number) => {
        const { c, slice } = call(i);
        const r = await redis.benchRenewNoop(...keysOf(c.orgId), c.hold.call_id, Date.now(), slice, sliceAmount, rate);
        if (r !== 1) throw new Error(`no-op script returned ${String(r)}`);
      };
      const renew = async (i: number) => {
        const { c, slice } = call(i);
        const r = await calls.hot.renew(c.orgId, c.hold.call_id, slice, sliceAmount, rate);
        bump(renewOutcomes, r.outcome);
      };
      // Round by round, alternating which side goes first (ABBA…), so drift in the shared
      // machine's load falls on both sides alike.
      const sides = { baseline: new Interleaved('no-op Lua (same KEYS/ARGV)'), subject: new Interleaved('hot.renew (call_meter_renew)') };
      for (let r = 0; r < rounds; r++) {
        const from = r * live.length;
        const one = (side: Interleaved, op: (i: number) => Promise<void>) => side.block(live.length, concurrency, (i) => op(from + i));
        if (r % 2 === 0) {
          await one(sides.baseline, noop);
          await one(sides.subject, renew);
        } else {
          await one(sides.subject, renew);
          await one(sides.baseline, noop);
        }
      }
      const baseline = sides.baseline.result(progress);
      const subject = sides.subject.result(progress);
      const renewed = renewOutcomes.get('renewed') ?? 0;
      if (renewed !== count) progress(`WARNING: ${count - renewed} of ${count} renewals did not renew (${tally(renewOutcomes)})`);

      // (2) Lateness: 1,000 jobs due at one moment; BullMQ's no-op floor first, then the meter worker.
      const nextSlice = rounds + 2;
      const jobsAt = (dueAtMs: number): CallMeterJob[] =>
        live.map((c) => ({
          kind: 'renew',
          callId: c.hold.call_id,
          orgId: c.orgId,
          slice: nextSlice,
          admittedAtMs: c.hold.admitted_at_ms,
          maxDurationSeconds: c.hold.max_duration_seconds,
          expiresAtMs: c.hold.expires_at_ms,
          cap: c.hold.cap,
          dueAtMs,
        }));
      const noopWorker = new Worker(noopQueue.name, async () => 'noop', { connection: noopConn, prefix: keys.bullPrefixFor(noopName), concurrency: CALL_METER_CONCURRENCY });
      noopWorker.on('error', () => undefined);
      const floor = await lateness('BullMQ no-op worker', noopQueue, noopWorker, jobsAt, () => 'noop', progress).finally(() => noopWorker.close());

      const before = await metricLateness(world);
      const meter = startCallMeterWorker(world.services);
      const stepOutcome = (_job: Job, value: unknown): string => (typeof value === 'string' ? value : typeof value === 'object' && value !== null && 'outcome' in value ? String(value.outcome) : 'unknown');
      let steps: LatenessRun;
      try {
        steps = await lateness('call-meter worker (step)', world.services.queues.callMeters, meter.worker, jobsAt, stepOutcome, progress);
      } finally {
        await meter.close(5000);
      }
      const after = await metricLateness(world);
      const observed = after.count - before.count;
      const stepRenewed = steps.outcomes.get('renewed') ?? 0;
      if (stepRenewed !== live.length) progress(`WARNING: ${live.length - stepRenewed} of ${live.length} meter steps did not renew (${tally(steps.outcomes)}, ${steps.failures} failed)`);
      const postgresSlices = await world.count('select count(*) from calls where org_id = any($1::uuid[]) and slices = $2', [[...new Set(live.map((c) => c.orgId))], nextSlice]);
      const nextJobs = await world.services.queues.callMeters.getDelayedCount();

      return {
        subject,
        baseline,
        notes: [
          `${live.length} live calls (${CALLS_PER_WALLET} per wallet, ${WALLETS} wallets), ${rounds} rounds (slices 2..${rounds + 1}), concurrency ${concurrency}, one fail-fast connection for both sides`,
          `renewal outcomes: ${tally(renewOutcomes)}`,
          `slice ${sliceAmount} per renewal; no-op script: EVALSHA of 'return 1' with the same 4 keys and 5 arguments`,
        ],
        also: [
          {
            name: 'g-renewal-lateness',
            title: `1,000 renewal jobs due at one moment: processing start − dueAtMs, call-meter worker (concurrency ${CALL_METER_CONCURRENCY}) vs a no-op BullMQ worker`,
            subject: steps.measurement,
            baseline: floor.measurement,
            notes: [
              `p50/p99 columns are lateness (start − due); throughput is jobs ÷ (due → last settled)`,
              `meter worker: lateness max ${steps.maxMs} ms, outcomes ${tally(steps.outcomes)}, ${steps.failures} failed after retries; jobs written in ${steps.enqueueMs} ms (${DUE_AHEAD_MS} ms before due)`,
              `no-op worker: lateness max ${floor.maxMs} ms; jobs written in ${floor.enqueueMs} ms`,
              `billing_gates_call_renewal_lateness_seconds observed ${observed} steps, mean ${observed > 0 ? (((after.sum - before.sum) / observed) * 1000).toFixed(0) : '-'} ms`,
              `Postgres: ${postgresSlices} calls recorded at slice ${nextSlice}; ${nextJobs} next-slice renewal jobs left delayed`,
            ],
          },
        ],
      };
    } finally {
      await noopQueue.obliterate({ force: true }).catch(() => undefined);
      await noopQueue.close();
      noopConn.disconnect();
      await world.close();
    }
  },
};
