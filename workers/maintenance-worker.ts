// The maintenance queue: periodic tasks (sweepers), scheduled with upsertJobScheduler so that
// however many worker processes start, each task has one schedule. One worker per process takes
// every task and dispatches by name; a task without a handler here is logged and skipped.
import { Worker, type Job } from 'bullmq';
import { createRedis } from '../shared/redis';
import type { Services } from '../shared/process/services';
import { closeWorker } from './close-worker';
import { QUEUE_NAMES, KEEP_COMPLETED, KEEP_FAILED, type MaintenanceJob } from './queues';

export type MaintenanceHandlers = Partial<Record<MaintenanceJob['task'], () => Promise<unknown>>>;

export async function startMaintenanceWorker(services: Services, handlers: MaintenanceHandlers) {
  const { config, queues, log } = services;
  for (const task of Object.keys(handlers) as MaintenanceJob['task'][]) {
    await queues.maintenance.upsertJobScheduler(
      task,
      { every: config.sweep.intervalMs },
      { name: task, data: { task }, opts: { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED } },
    );
  }
  const connection = createRedis(config.redis.url, 'blocking', 'maintenance-worker');
  const worker = new Worker<MaintenanceJob>(
    QUEUE_NAMES.maintenance,
    async (job: Job<MaintenanceJob>) => {
      const handler = handlers[job.data.task];
      if (!handler) {
        log.debug({ task: job.data.task }, 'no handler for this maintenance task in this process');
        return { skipped: true };
      }
      return handler();
    },
    { connection, prefix: services.keys.bullPrefix, concurrency: 1, lockDuration: config.limits.jobLockMs },
  );
  worker.on('error', (err) => log.error({ err: err.message }, 'maintenance worker error'));
  return { worker, close: (deadlineMs: number) => closeWorker(worker, connection, deadlineMs, log) };
}
