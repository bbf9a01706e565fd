// BullMQ job schedulers live in Redis. A Redis that loses its data (a restart without AOF, a
// flush) loses them, and with them every sweep — the thing that drives each request and call to
// a final state (failure mode 12). Upserting a scheduler is idempotent, so each workers process
// re-asserts them on a timer and a wiped Redis gets its sweeps back without a restart.
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';

export interface KeptSchedules {
  stop(): void;
}

export async function keepSchedules(assert: () => Promise<void>, everyMs: number, log: Logger, metrics: Metrics): Promise<KeptSchedules> {
  await assert();
  const timer = setInterval(() => {
    assert().catch((err: unknown) => {
      // Redis down: the next tick tries again; the outage itself is visible elsewhere too.
      metrics.sweeperRepairs.inc({ sweeper: 'schedules', repair: 'assert_failed' });
      log.warn({ err: (err as Error).message }, 'could not re-assert the sweep schedules');
    });
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
