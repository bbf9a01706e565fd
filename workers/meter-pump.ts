// The meter pump: moves the first renewals that Redis-path admissions wrote into the due sets
// (shared/calls/meter-due.ts: one per hash slot with organisations, named by the index) into the
// call-meters queue as the same delayed `renew` jobs the meter has always used
// (jobIds.meter(callId, 2), meterJobOptions), shortly before they are due. Each run claims from
// every indexed due key. The API's hot path thus pays one ZADD inside its admission script instead
// of a BullMQ addBulk, and the job writes happen here, in batches, off the request path.
//
// Nothing is lost on a crash: entries are claimed under a lease (re-scored to now + lease in the
// claim's own Lua step) and removed only after addBulk succeeded; a pump that dies in between
// leaves them to be claimed again when the lease runs out. Adding a job id that exists is a no-op
// in BullMQ, and a renewal run twice is 'already', so claiming again is harmless. Any number of
// worker processes may pump at once: a claim is atomic, so two never take one entry together.
import type { MeterDue } from '../shared/calls/meter-due';
import { parseDueMember } from '../shared/calls/meter-due';
import { throttledLog } from '../shared/calls/outage-log';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Services } from '../shared/process/services';
import { jobIds, meterJobOptions, type CallMeterJob, type Queues } from '../shared/queues/queues';

export interface MeterPumpOptions {
  /** How often the pump looks (ms). A renewal is due a lead (2–30 s) before its seconds run out. */
  intervalMs: number;
  /** Entries due within this much of now are taken (ms): the job then waits as a delayed job. */
  horizonMs: number;
  /** How long a claimed entry stays out of other claims (ms); must exceed the horizon. */
  leaseMs: number;
  /** Entries per claim (from one due key) and per addBulk. */
  batch: number;
  /** The longest wait between runs while Redis keeps failing (ms). */
  maxBackoffMs: number;
}

export const METER_PUMP_DEFAULTS: MeterPumpOptions = { intervalMs: 250, horizonMs: 2000, leaseMs: 30_000, batch: 500, maxBackoffMs: 5000 };

/**
 * The running pump visits each due key once every METER_PUMP_SPREAD runs (once a second at the
 * default 250 ms), a quarter of the keys per run: a claim of an empty key still costs a script
 * call, and the index holds up to one key per hash slot with a metered call in the last minute
 * (16,384; the meter sweep prunes the rest), so visiting all of them every run could cost
 * thousands of calls a second. A
 * visit per second is enough: an entry is claimed up to the horizon (2 s) before it is due, and a
 * first renewal is due at least 7 s after it is written (the shortest slice, 10 s, less its lead).
 * The tag list is read from the index on the first run of each round.
 */
export const METER_PUMP_SPREAD = 4;

/** Which of the SPREAD parts a tag belongs to: fixed for a tag (its base-36 value), so every part is visited once per round. */
export function pumpPartOf(tag: string, spread: number): number {
  const n = Number.parseInt(tag, 36);
  return Number.isFinite(n) ? n % spread : 0;
}

export interface MeterPumpDeps {
  due: MeterDue;
  queues: Pick<Queues, 'callMeters'>;
  metrics: Metrics;
  log: Logger;
  /** The gate's clock: the due set is scored by it. */
  clock: () => number;
}

export function meterPumpDeps(s: Services): MeterPumpDeps {
  return { due: s.calls.due, queues: s.queues, metrics: s.metrics, log: s.log, clock: s.calls.clock };
}

class PumpStepError extends Error {
  constructor(
    readonly step: 'claim' | 'enqueue' | 'release',
    cause: unknown,
  ) {
    super(`${step}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A run in which some step failed: each failed step, and what the run pumped anyway. */
export class PumpRunError extends Error {
  constructor(
    readonly failures: PumpStepError[],
    readonly pumped: number,
    /** Every due key failed (or the index could not be read): Redis looks down, the pump backs off. */
    readonly nothingWorked: boolean,
  ) {
    super(failures.map((f) => f.message).join('; '));
  }
}

interface Claimed {
  tag: string;
  entries: Array<{ member: string; job: CallMeterJob }>;
  malformed: string[];
  full: boolean;
}

/**
 * One round: one claim from each due key in `tags` (sent together), their jobs in addBulks of at
 * most o.batch entries, then each key's release. Returns the keys whose claim came back full and
 * whose entries all became jobs (the next round claims from them again), what was pumped, and the
 * failed steps; a key that failed is left to the next run.
 */
async function pumpRound(d: MeterPumpDeps, o: MeterPumpOptions, tags: string[]): Promise<{ again: string[]; pumped: number; failures: PumpStepError[]; worked: number }> {
  const now = d.clock();
  const failures: PumpStepError[] = [];
  const claims = await Promise.allSettled(tags.map((tag) => d.due.claim(tag, now, o.horizonMs, o.leaseMs, o.batch)));
  const claimed: Claimed[] = [];
  claims.forEach((c, i) => {
    const tag = tags[i] ?? '';
    if (c.status === 'rejected') return void failures.push(new PumpStepError('claim', c.reason));
    const one: Claimed = { tag, entries: [], malformed: [], full: c.value.length >= o.batch };
    for (const member of c.value) {
      const job = parseDueMember(member);
      if (job === undefined) one.malformed.push(member);
      else one.entries.push({ member, job });
    }
    claimed.push(one);
  });
  const malformed = claimed.reduce((n, c) => n + c.malformed.length, 0);
  if (malformed > 0) {
    // Never written by this service's script: nothing to pump, and kept it would be claimed forever.
    d.metrics.meterPumpFailures.inc({ step: 'malformed' }, malformed);
    d.log.error({ entries: malformed, sample: claimed.find((c) => c.malformed.length > 0)?.malformed[0]?.slice(0, 80) }, 'meter pump: dropped unreadable due entries');
  }

  // The jobs of every key together, in addBulks of at most o.batch (one, while fewer are due).
  const all = claimed.flatMap((c) => c.entries.map((e) => ({ tag: c.tag, ...e })));
  const enqueued = new Set<string>();
  const failedTags = new Set<string>();
  let pumped = 0;
  for (let i = 0; i < all.length; i += o.batch) {
    const chunk = all.slice(i, i + o.batch);
    try {
      await d.queues.callMeters.addBulk(
        chunk.map(({ job }) => {
          const id = jobIds.meter(job.callId, job.slice);
          return { name: job.kind, data: job, opts: meterJobOptions(id, job.dueAtMs - now) };
        }),
      );
    } catch (err) {
      // Back to their due time, so the next run (not the lease's end) tries again; if that fails
      // too, the lease brings them back.
      failures.push(new PumpStepError('enqueue', err));
      for (const [tag, entries] of byTag(chunk)) {
        failedTags.add(tag);
        await d.due.unclaim(tag, entries.map(({ member, job }) => ({ member, dueAtMs: job.dueAtMs }))).catch(() => undefined);
      }
      continue;
    }
    d.metrics.meterPumped.inc(chunk.length);
    pumped += chunk.length;
    for (const e of chunk) enqueued.add(e.member);
  }

  // Each key's done entries (and its malformed ones) removed; the jobs exist, so a release that
  // fails only brings the entries back after their lease, to be added again as no-ops.
  const releases = await Promise.allSettled(
    claimed.map((c) => d.due.release(c.tag, [...c.entries.filter((e) => enqueued.has(e.member)).map((e) => e.member), ...c.malformed])),
  );
  releases.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    failures.push(new PumpStepError('release', r.reason));
    failedTags.add(claimed[i]?.tag ?? '');
  });
  const again = claimed.filter((c) => c.full && !failedTags.has(c.tag)).map((c) => c.tag);
  const worked = claimed.filter((c) => !failedTags.has(c.tag)).length;
  return { again, pumped, failures, worked };
}

function byTag<T extends { tag: string }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const group = out.get(item.tag);
    if (group) group.push(item);
    else out.set(item.tag, [item]);
  }
  return out;
}

/**
 * One run over every indexed due key: a claim from each, and again from those whose claim came
 * back full, until none does (per key, today's "batches while they come back full"). A key that
 * fails does not hold up the others (on a cluster, one master's trouble leaves the other
 * masters' renewals flowing). Returns the entries turned into jobs; throws PumpRunError when a
 * step failed. `only`: these due keys' tags instead of the whole index (the running pump's part).
 */
export async function pumpDueMeters(d: MeterPumpDeps, o: MeterPumpOptions = METER_PUMP_DEFAULTS, only?: readonly string[]): Promise<number> {
  let tags: string[];
  try {
    tags = only === undefined ? await d.due.tags() : [...only];
  } catch (err) {
    throw new PumpRunError([new PumpStepError('claim', err)], 0, true);
  }
  let pumped = 0;
  let worked = 0;
  const failures: PumpStepError[] = [];
  for (let round = tags; round.length > 0; ) {
    const r = await pumpRound(d, o, round);
    pumped += r.pumped;
    worked += r.worked;
    failures.push(...r.failures);
    round = r.again;
  }
  if (failures.length > 0) throw new PumpRunError(failures, pumped, worked === 0);
  return pumped;
}

export interface RunningMeterPump {
  close(deadlineMs: number): Promise<void>;
}

/** Runs the pump every intervalMs (never two runs at once), backing off while Redis fails. */
export function startMeterPump(d: MeterPumpDeps, o: MeterPumpOptions = METER_PUMP_DEFAULTS): RunningMeterPump {
  if (o.leaseMs <= o.horizonMs) throw new Error('meter pump: the lease must be longer than the horizon');
  // During a Redis outage every run fails: one line per 10 s, every failure counted.
  const logFailure = throttledLog(d.log, 'warn', 'meter pump: could not move due renewals into the queue; retrying');
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let runNo = 0;
  let tags: string[] = [];

  const run = async (): Promise<void> => {
    const part = runNo++ % METER_PUMP_SPREAD;
    try {
      if (part === 0 || tags.length === 0) tags = await d.due.tags().catch((err: unknown) => {
        throw new PumpRunError([new PumpStepError('claim', err)], 0, true);
      });
      await pumpDueMeters(d, o, tags.filter((tag) => pumpPartOf(tag, METER_PUMP_SPREAD) === part));
      failures = 0;
    } catch (err) {
      const steps = err instanceof PumpRunError ? err.failures.map((f) => f.step) : ['claim' as const];
      for (const step of steps) d.metrics.meterPumpFailures.inc({ step });
      // Backs off only when nothing worked (Redis looks down); a run where some keys failed keeps
      // the cadence for the others.
      if (!(err instanceof PumpRunError) || err.nothingWorked) failures++;
      else failures = 0;
      logFailure({ steps, failures, err: (err as Error).message });
    }
  };
  const schedule = () => {
    if (stopped) return;
    const wait = failures === 0 ? o.intervalMs : Math.min(o.maxBackoffMs, o.intervalMs * 2 ** Math.min(failures, 16));
    timer = setTimeout(() => {
      running = run().finally(schedule);
    }, wait);
  };
  schedule();

  return {
    async close(deadlineMs: number) {
      stopped = true;
      clearTimeout(timer);
      // A run in flight finishes (or is left to the lease) within the deadline.
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((resolve) => (deadline = setTimeout(resolve, deadlineMs)))]);
      clearTimeout(deadline);
    },
  };
}
