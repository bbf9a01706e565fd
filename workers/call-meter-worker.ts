// Consumes the call-meters queue: each job is one step of one metered call — the renewal of its
// next slice, or the hang-up of a call whose money ran out (shared/calls/call-meter.ts; a hang-up
// whose end-call fails throws and is retried with backoff, hangupJobOptions). Steps are
// short and mostly wait on Redis, Postgres or Vapi's control endpoint, so many run at once.
import { Worker } from 'bullmq';
import type { Services } from '../shared/process/services';
import { createRedis } from '../shared/redis';
import { QUEUE_NAMES, type CallMeterJob } from '../shared/queues/queues';
import { closeWorker } from './close-worker';

/** Meter steps in flight per process: 1,000 live calls renew every ~90 s, a step takes a few ms. */
export const CALL_METER_CONCURRENCY = 50;

export function startCallMeterWorker(services: Services) {
  const connection = createRedis(services.config.redis, 'blocking', 'call-meter-worker');
  // Which try this is: a hang-up decides its own last one (counts the call it cannot end).
  const worker = new Worker<CallMeterJob>(QUEUE_NAMES.callMeters, async (job) => services.calls.meters.step(job.data, { attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 }), {
    connection,
    prefix: services.keys.bullPrefixFor(QUEUE_NAMES.callMeters),
    concurrency: CALL_METER_CONCURRENCY,
  });
  worker.on('failed', (job, err) => {
    services.metrics.jobRetries.inc({ queue: QUEUE_NAMES.callMeters });
    services.log.warn({ callId: job?.data.callId, kind: job?.data.kind, slice: job?.data.slice, attempts: job?.attemptsMade, err: err.message }, 'call meter step failed');
  });
  worker.on('error', (err) => services.log.error({ err: err.message }, 'call meter worker error'));
  return { worker, close: (deadlineMs: number) => closeWorker(worker, connection, deadlineMs, services.log) };
}
