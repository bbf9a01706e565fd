// Runs provisioning attempts. The SQL state machine decides; this maps an attempt's outcome onto
// BullMQ: retry (throw, BullMQ backs off), give up (mark failed + queue refund, then
// UnrecoverableError), or done. Retries and final failures are counted in metrics.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { createRedis } from '../shared/redis';
import type { ProvisioningDeps } from '../shared/provisioning/provisioning-deps';
import { runAttempt } from '../shared/provisioning/run-attempt';
import { enqueueRefund, failRequest } from '../shared/provisioning/settle-request';
import type { Services } from '../shared/process/services';
import { closeWorker } from './close-worker';
import { QUEUE_NAMES, type ProvisioningJob } from '../shared/queues/queues';

/** Attempts run in parallel per worker process; each is mostly waiting on Twilio and Vapi. */
export const PROVISIONING_CONCURRENCY = 8;

export function provisioningProcessor(deps: ProvisioningDeps) {
  return async (job: Job<ProvisioningJob>) => {
    const { requestId } = job.data;
    const out = await runAttempt(deps, requestId);
    switch (out.kind) {
      case 'completed':
        deps.metrics.provisioningAttempts.inc({ result: 'succeeded' });
        deps.metrics.provisioningOutcomes.inc({ outcome: 'completed' });
        deps.log.info({ requestId, phoneNumber: out.phoneNumber, attempts: out.attempts }, 'provisioning completed');
        return { status: 'completed', phoneNumber: out.phoneNumber };
      case 'final':
        // A failed request whose refund job may not exist yet (e.g. enqueue failed last time).
        if (out.status === 'failed') await enqueueRefund(deps, requestId);
        return { status: out.status };
      case 'retry':
        deps.metrics.provisioningAttempts.inc({ result: 'retrying' });
        deps.metrics.jobRetries.inc({ queue: QUEUE_NAMES.provisioning });
        deps.log.warn({ requestId, attempts: out.attempts, error: out.error }, 'provisioning attempt failed; will retry');
        throw new Error(out.error);
      case 'give_up':
        deps.metrics.provisioningAttempts.inc({ result: out.reason });
        await failRequest(deps, requestId, out.error);
        throw new UnrecoverableError(out.error);
    }
  };
}

export function startProvisioningWorker(services: Services) {
  const connection = createRedis(services.config.redis, 'blocking', 'provisioning-worker');
  const worker = new Worker<ProvisioningJob>(QUEUE_NAMES.provisioning, provisioningProcessor(services), {
    connection,
    prefix: services.keys.bullPrefixFor(QUEUE_NAMES.provisioning),
    concurrency: PROVISIONING_CONCURRENCY,
    lockDuration: services.config.limits.jobLockMs,
    stalledInterval: services.config.limits.jobLockMs,
  });
  worker.on('error', (err) => services.log.error({ err: err.message }, 'provisioning worker error'));
  return { worker, close: (deadlineMs: number) => closeWorker(worker, connection, deadlineMs, services.log) };
}
