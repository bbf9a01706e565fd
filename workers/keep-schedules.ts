// BullMQ job schedulers live in Redis. A Redis that loses its data (a restart without AOF, a
// flush) loses them, and with them every sweep — the thing that drives each request and call to
// a final state (failure mode 12). Upserting a scheduler is idempotent, so each workers process
// re-asserts them on a timer and a wiped Redis gets its sweeps back without a restart.
import type { Queue } from 'bullmq';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { KEEP_COMPLETED, KEEP_FAILED, type MaintenanceJob } from '../shared/queues/queues';

/**
 * A maintenance task's schedule: one job scheduler named for the task, upserted (one schedule
 * however many workers processes start), its finished jobs trimmed like every other queue's.
 */
export async function scheduleMaintenanceTask(maintenance: Queue<MaintenanceJob>, task: MaintenanceJob['task'], everyMs: number): Promise<void> {
  await maintenance.upsertJobScheduler(task, { every: everyMs }, { name: task, data: { task }, opts: { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED } });
}

export interface KeptSchedules {
  stop(): void;
}

export async function keepSchedules(assert: () => Promise<void>, everyMs: number, log: Logger, metrics: Metrics): Promise<KeptSchedules> {
  const attempt = () =>
    assert().catch((err: unknown) => {
      // Redis down: the next tick tries again; the outage itself is visible elsewhere too.
      metrics.sweeperRepairs.inc({ sweeper: 'schedules', repair: 'assert_failed' });
      log.warn({ err: (err as Error).message }, 'could not re-assert the sweep schedules');
    });
  // The first attempt too: a workers process started during a Redis outage must start (its
  // workers wait for Redis on their own) and get its schedules on the next tick, not exit —
  // the chaos test restarts a worker while Redis is being restarted.
  await attempt();
  const timer = setInterval(() => void attempt(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
