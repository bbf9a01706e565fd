// One worker for the maintenance queue, dispatching by task: a queue has one kind of consumer,
// so every periodic task (call sweep, provisioning sweep, queue sampling) registers a handler
// here rather than starting a competing Worker on the same queue.
import { Worker } from 'bullmq';
import type { Services } from '../shared/process/services';
import { createRedis } from '../shared/redis';
import { closeWorker } from './close-worker';
import { QUEUE_NAMES, type MaintenanceJob } from '../shared/queues/queues';

export type MaintenanceHandlers = Partial<Record<MaintenanceJob['task'], () => Promise<unknown>>>;

export function startMaintenanceWorker(services: Services, handlers: MaintenanceHandlers) {
  const connection = createRedis(services.config.redis, 'blocking', 'maintenance-worker');
  const worker = new Worker<MaintenanceJob>(
    QUEUE_NAMES.maintenance,
    async (job) => {
      const handler = handlers[job.data.task];
      if (!handler) throw new Error(`no handler for maintenance task ${job.data.task}`);
      return handler();
    },
    { connection, prefix: services.keys.bullPrefixFor(QUEUE_NAMES.maintenance), concurrency: 1 },
  );
  worker.on('failed', (job, err) => services.log.error({ task: job?.data.task, err: err.message }, 'maintenance task failed'));
  worker.on('error', (err) => services.log.error({ err: err.message }, 'maintenance worker error'));
  // Bounded: a later close(true) cannot pre-empt a close in progress (see close-worker.ts).
  return { close: (deadlineMs: number) => closeWorker(worker, connection, deadlineMs, services.log) };
}
