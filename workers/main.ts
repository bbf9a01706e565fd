// Starts every worker and scheduler of this process, and closes them within a deadline.
import type { Services } from '../shared/process/services';
import { startCallBillingWorker } from './call-billing-worker';
import { callSweepDeps, scheduleCallSweep, sweepCalls } from './call-sweeper';
import { startMaintenanceWorker } from './maintenance-worker';

export interface RunningWorkers {
  close(deadlineMs: number): Promise<void>;
}

export async function startWorkers(services: Services): Promise<RunningWorkers> {
  const closers: Array<(deadlineMs: number) => Promise<void>> = [];
  // Call gate (issue 4): billing of end-of-call reports, and the periodic call sweep.
  closers.push(startCallBillingWorker(services).close);
  const sweepDeps = callSweepDeps(services);
  closers.push(startMaintenanceWorker(services, { 'sweep-calls': () => sweepCalls(sweepDeps) }).close);
  await scheduleCallSweep(services.queues.maintenance, services.config.sweep.intervalMs);
  services.log.info({ workers: closers.length }, 'workers started');
  return {
    async close(deadlineMs) {
      await Promise.allSettled(closers.map((c) => c(deadlineMs)));
    },
  };
}
