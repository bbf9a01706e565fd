// Starts every worker and scheduler of this process, and closes them within a deadline.
import type { Services } from '../shared/process/services';

export interface RunningWorkers {
  close(deadlineMs: number): Promise<void>;
}

export async function startWorkers(services: Services): Promise<RunningWorkers> {
  const closers: Array<(deadlineMs: number) => Promise<void>> = [];
  services.log.info({ workers: closers.length }, 'workers started');
  return {
    async close(deadlineMs) {
      await Promise.allSettled(closers.map((c) => c(deadlineMs)));
    },
  };
}
