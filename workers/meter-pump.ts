// The meter pump: moves the first renewals that Redis-path admissions wrote into the due set
// (shared/calls/meter-due.ts) into the call-meters queue as the same delayed `renew` jobs the
// meter has always used (jobIds.meter(callId, 2), meterJobOptions), shortly before they are due.
// The API's hot path thus pays one ZADD inside its admission script instead of a BullMQ addBulk,
// and the job writes happen here, in batches, off the request path.
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
  /** Entries per claim and per addBulk. */
  batch: number;
  /** The longest wait between runs while Redis keeps failing (ms). */
  maxBackoffMs: number;
}

export const METER_PUMP_DEFAULTS: MeterPumpOptions = { intervalMs: 250, horizonMs: 2000, leaseMs: 30_000, batch: 500, maxBackoffMs: 5000 };

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

/** One claim, its jobs and its release. Returns the entries claimed (the batch was full when = o.batch). */
async function pumpBatch(d: MeterPumpDeps, o: MeterPumpOptions): Promise<{ claimed: number; pumped: number }> {
  const now = d.clock();
  const members = await d.due.claim(now, o.horizonMs, o.leaseMs, o.batch).catch((err: unknown) => {
    throw new PumpStepError('claim', err);
  });
  if (members.length === 0) return { claimed: 0, pumped: 0 };
  const entries: Array<{ member: string; job: CallMeterJob }> = [];
  const malformed: string[] = [];
  for (const member of members) {
    const job = parseDueMember(member);
    if (job === undefined) malformed.push(member);
    else entries.push({ member, job });
  }
  if (malformed.length > 0) {
    // Never written by this service's script: nothing to pump, and kept it would be claimed forever.
    d.metrics.meterPumpFailures.inc({ step: 'malformed' }, malformed.length);
    d.log.error({ entries: malformed.length, sample: malformed[0]?.slice(0, 80) }, 'meter pump: dropped unreadable due entries');
  }
  try {
    await d.queues.callMeters.addBulk(
      entries.map(({ job }) => {
        const id = jobIds.meter(job.callId, job.slice);
        return { name: job.kind, data: job, opts: meterJobOptions(id, job.dueAtMs - now) };
      }),
    );
  } catch (err) {
    // Back to their due time, so the next run (not the lease's end) tries again; if that fails
    // too, the lease brings them back.
    await d.due.unclaim(entries.map(({ member, job }) => ({ member, dueAtMs: job.dueAtMs }))).catch(() => undefined);
    throw new PumpStepError('enqueue', err);
  }
  d.metrics.meterPumped.inc(entries.length);
  await d.due.release([...entries.map((e) => e.member), ...malformed]).catch((err: unknown) => {
    // The jobs exist: the entries come back after their lease and are added again as no-ops.
    throw new PumpStepError('release', err);
  });
  return { claimed: members.length, pumped: entries.length };
}

/** One run: batches while they come back full. Returns the entries turned into jobs. */
export async function pumpDueMeters(d: MeterPumpDeps, o: MeterPumpOptions = METER_PUMP_DEFAULTS): Promise<number> {
  let pumped = 0;
  for (;;) {
    const r = await pumpBatch(d, o);
    pumped += r.pumped;
    if (r.claimed < o.batch) return pumped;
  }
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

  const run = async (): Promise<void> => {
    try {
      await pumpDueMeters(d, o);
      failures = 0;
    } catch (err) {
      failures++;
      const step = err instanceof PumpStepError ? err.step : 'claim';
      d.metrics.meterPumpFailures.inc({ step });
      logFailure({ step, failures, err: (err as Error).message });
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
