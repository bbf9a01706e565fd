// Runs refund jobs: release what was bought, then refund once (shared/provisioning/settle-request).
// A failure is thrown so BullMQ retries it (MONEY_JOB_ATTEMPTS); the sweeper re-drives it after.
import { Worker, type Job } from 'bullmq';
import { createRedis } from '../shared/redis';
import type { ProvisioningDeps } from '../shared/provisioning/provisioning-deps';
import { refundRequest } from '../shared/provisioning/settle-request';
import type { Services } from '../shared/process/services';
import { closeWorker } from './close-worker';
import { QUEUE_NAMES, type RefundJob } from '../shared/queues/queues';

export const REFUND_CONCURRENCY = 4;

export function refundProcessor(deps: ProvisioningDeps) {
  return async (job: Job<RefundJob>) => {
    try {
      return { outcome: await refundRequest(deps, job.data.requestId) };
    } catch (err) {
      deps.metrics.jobRetries.inc({ queue: QUEUE_NAMES.refunds });
      deps.log.error({ requestId: job.data.requestId, err: (err as Error).message, attempt: job.attemptsMade + 1 }, 'refund failed; will retry');
      throw err;
    }
  };
}

export function startRefundWorker(services: Services) {
  const connection = createRedis(services.config.redis, 'blocking', 'refund-worker');
  const worker = new Worker<RefundJob>(QUEUE_NAMES.refunds, refundProcessor(services), {
    connection,
    prefix: services.keys.bullPrefixFor(QUEUE_NAMES.refunds),
    concurrency: REFUND_CONCURRENCY,
    lockDuration: services.config.limits.jobLockMs,
    stalledInterval: services.config.limits.jobLockMs,
  });
  worker.on('error', (err) => services.log.error({ err: err.message }, 'refund worker error'));
  return { worker, close: (deadlineMs: number) => closeWorker(worker, connection, deadlineMs, services.log) };
}
