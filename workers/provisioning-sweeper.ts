// Drives every provisioning request to `completed` or `refunded` (failure mode 12). BullMQ and
// the database are two stores, so any hand-off between them can be lost (crash between commit
// and enqueue, Redis down at request time, a job removed, a job failed by stalling, a refund job
// lost); the sweeper compares them and repairs from the database, which is the state machine.
import type { JobState, Queue } from 'bullmq';
import type { ProvisioningDeps } from '../shared/provisioning/provisioning-deps';
import { enqueueRefund, failRequest } from '../shared/provisioning/settle-request';
import { jobIds, KEEP_COMPLETED, KEEP_FAILED, provisioningJobOptions, type MaintenanceJob } from '../shared/queues/queues';

export const PROVISIONING_SWEEP_SCHEDULER_ID = 'sweep-provisioning';

/** One schedule however many worker processes start (upsert by id). */
export async function scheduleProvisioningSweep(maintenance: Queue<MaintenanceJob>, intervalMs: number): Promise<void> {
  await maintenance.upsertJobScheduler(
    PROVISIONING_SWEEP_SCHEDULER_ID,
    { every: intervalMs },
    { name: PROVISIONING_SWEEP_SCHEDULER_ID, data: { task: 'sweep-provisioning' }, opts: { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED } },
  );
}

/** Requests looked at per sweep, oldest first; the rest wait for the next sweep. */
export const SWEEP_BATCH = 200;
const LIVE: ReadonlySet<JobState | 'unknown'> = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);
const UNFINISHED = new Set(['queued', 'provisioning', 'retrying']);

export interface SweepReport {
  examined: number;
  requeued: number;
  failed: number;
  refundsRequeued: number;
  stuck: number;
}

export async function sweepProvisioning(deps: ProvisioningDeps): Promise<SweepReport> {
  const { config, queues, metrics } = deps;
  const c = await deps.provisioning.sweepCandidates(SWEEP_BATCH, config.sweep.stuckAfterSeconds);
  metrics.stuckRequests.set(c.stuck);
  const report: SweepReport = { examined: c.items.length, requeued: 0, failed: 0, refundsRequeued: 0, stuck: c.stuck };
  const repaired = (repair: string) => metrics.sweeperRepairs.inc({ sweeper: 'provisioning', repair });

  for (const item of c.items) {
    if (item.status === 'failed') {
      const job = await queues.refunds.getJob(jobIds.refund(item.id));
      const state = job ? await job.getState() : 'unknown';
      if (LIVE.has(state)) continue;
      if (job) await job.remove();
      await enqueueRefund(deps, item.id);
      report.refundsRequeued++;
      repaired('refund_requeued');
      continue;
    }
    const job = await queues.provisioning.getJob(jobIds.provisioning(item.id));
    const state = job ? await job.getState() : 'unknown';
    if (LIVE.has(state)) continue;
    // Re-read: the job may have finished the request since the candidates were read.
    const now = await deps.provisioning.load(item.id);
    if (now.outcome !== 'found' || !UNFINISHED.has(now.request.status)) continue;
    if (state === 'failed') {
      // Final failure BullMQ decided (stalled too often, attempts used up) without the database.
      await failRequest(deps, item.id, `job failed: ${job?.failedReason ?? 'unknown reason'}`);
      report.failed++;
      repaired('failed_job_refunded');
    } else {
      if (job) await job.remove();
      await queues.provisioning.add('provision', { requestId: item.id }, provisioningJobOptions(config, item.id));
      report.requeued++;
      repaired('requeued');
    }
  }
  if (report.requeued + report.failed + report.refundsRequeued > 0) deps.log.warn({ ...report }, 'provisioning sweeper repaired requests');
  return report;
}
