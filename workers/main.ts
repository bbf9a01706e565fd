// Starts every worker and scheduler of this process, and closes them within a deadline.
import type { Services } from '../shared/process/services';
import { startMaintenanceWorker } from './maintenance-worker';
import { sweepProvisioning } from './provisioning-sweeper';
import { startProvisioningWorker } from './provisioning-worker';
import { startRefundWorker } from './refund-worker';

export interface RunningWorkers {
  close(deadlineMs: number): Promise<void>;
}

export async function startWorkers(services: Services): Promise<RunningWorkers> {
  const closers: Array<(deadlineMs: number) => Promise<void>> = [];
  // Provisioning (issue 3): attempts, refunds, and the sweeper that reconciles them.
  closers.push(startProvisioningWorker(services).close);
  closers.push(startRefundWorker(services).close);
  const maintenance = await startMaintenanceWorker(services, {
    'sweep-provisioning': () => sweepProvisioning(services),
  });
  closers.push(maintenance.close);
  services.log.info({ workers: closers.length }, 'workers started');
  return {
    async close(deadlineMs) {
      await Promise.allSettled(closers.map((c) => c(deadlineMs)));
    },
  };
}
