// Drives every provisioning request to `completed` or `refunded` (failure mode 12). BullMQ and
// the database are two stores, so any hand-off between them can be lost (crash between commit
// and enqueue, Redis down at request time, a job removed, a job failed by stalling, a refund job
// lost); the sweeper compares them and repairs from the database, which is the state machine.
//
// Failure mode 29: the work list is read in the order rows are due, page by page, and a row the
// sweeper cannot finish now is put off with a backoff (as workers/call-sweeper.ts does), so 500
// failed requests whose refund jobs wait out a long backoff never keep it from a lost job.
import type { JobState } from 'bullmq';
import type { ProvisioningDeps } from '../shared/provisioning/provisioning-deps';
import { enqueueRefund, failRequest } from '../shared/provisioning/settle-request';
import type { SweepCandidate, SweepCursor } from '../shared/provisioning/provisioning-store';
import { sweepBackoffMs } from './call-sweeper';
import { jobIds, provisioningJobOptions } from '../shared/queues/queues';
import { walkPages } from './walk-pages';

export const PROVISIONING_SWEEP_SCHEDULER_ID = 'sweep-provisioning';

/** Requests read per page, in the order they are due (sweep_due_at, id). */
export const SWEEP_BATCH = 200;
/**
 * Pages one run may walk (failure mode 29): bounds a run's length; rows past it are reached by the
 * next run, since the rows this run looked at and could not finish are deferred.
 */
export const SWEEP_MAX_PAGES = 10;
const LIVE: ReadonlySet<JobState | 'unknown'> = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);
const UNFINISHED = new Set(['queued', 'provisioning', 'retrying']);

export interface SweepReport {
  examined: number;
  requeued: number;
  failed: number;
  refundsRequeued: number;
  deferred: number;
  errors: number;
  stuck: number;
}

type Verdict = 'repaired' | 'nothing_to_do';

/**
 * One run: every due request, page by page with a keyset cursor, so rows it cannot finish now
 * (a live job or refund job, far in its backoff; an error) never hide the rows behind them. A row
 * left as it was is deferred with a growing backoff (sweepBackoffMs, as the call sweeper), so the
 * next runs do not spend themselves on it either; a repaired row is looked at again next run.
 */
export async function sweepProvisioning(deps: ProvisioningDeps, now: Date = new Date()): Promise<SweepReport> {
  const { config, metrics } = deps;
  const report: SweepReport = { examined: 0, requeued: 0, failed: 0, refundsRequeued: 0, deferred: 0, errors: 0, stuck: 0 };
  const { pages, bounded } = await walkPages({
    page: async (after: SweepCursor | null) => {
      const c = await deps.provisioning.sweepCandidates(now, SWEEP_BATCH, config.sweep.stuckAfterSeconds, after);
      if (after === null) {
        report.stuck = c.stuck;
        metrics.stuckRequests.set(c.stuck);
      }
      return c.items;
    },
    cursorOf: (item) => ({ dueAt: item.sweep_due_at, id: item.id }),
    each: async (item) => {
      report.examined++;
      let verdict: Verdict;
      try {
        verdict = await sweepOne(deps, item, report);
      } catch (err) {
        report.errors++;
        deps.log.error({ requestId: item.id, err: (err as Error).message }, 'provisioning sweep: could not repair a request; retried after its backoff');
        verdict = 'nothing_to_do';
      }
      if (verdict === 'nothing_to_do') await defer(deps, item, now, report);
    },
    pageSize: SWEEP_BATCH,
    maxPages: SWEEP_MAX_PAGES,
  });
  if (bounded) deps.log.warn({ pages, batch: SWEEP_BATCH }, 'provisioning sweep: page bound reached; the next run carries on');
  if (report.requeued + report.failed + report.refundsRequeued > 0) deps.log.warn({ ...report }, 'provisioning sweeper repaired requests');
  return report;
}

async function sweepOne(deps: ProvisioningDeps, item: SweepCandidate, report: SweepReport): Promise<Verdict> {
  const { config, queues, metrics } = deps;
  const repaired = (repair: string) => metrics.sweeperRepairs.inc({ sweeper: 'provisioning', repair });
  if (item.status === 'failed') {
    const job = await queues.refunds.getJob(jobIds.refund(item.id));
    const state = job ? await job.getState() : 'unknown';
    if (LIVE.has(state)) return 'nothing_to_do';
    if (job) await job.remove();
    await enqueueRefund(deps, item.id);
    report.refundsRequeued++;
    repaired('refund_requeued');
    return 'repaired';
  }
  const job = await queues.provisioning.getJob(jobIds.provisioning(item.id));
  const state = job ? await job.getState() : 'unknown';
  if (LIVE.has(state)) return 'nothing_to_do';
  // Re-read: the job may have finished the request since the candidates were read.
  const now = await deps.provisioning.load(item.id);
  if (now.outcome !== 'found' || !UNFINISHED.has(now.request.status)) return 'repaired';
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
  return 'repaired';
}

async function defer(deps: ProvisioningDeps, item: SweepCandidate, now: Date, report: SweepReport): Promise<void> {
  // From the sweep's `now`: the clock provision_sweep_candidates compares sweep_due_at with.
  const until = new Date(now.getTime() + sweepBackoffMs(deps.config.sweep.intervalMs, item.sweep_deferrals));
  try {
    if ((await deps.provisioning.deferSweep(item.id, until)).outcome === 'deferred') report.deferred++;
  } catch (err) {
    // Not deferred: the next run looks at it again; this run's cursor still moves past it.
    report.errors++;
    deps.log.error({ requestId: item.id, err: (err as Error).message }, 'provisioning sweep: could not defer a request');
  }
}
