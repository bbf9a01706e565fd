// Consumes the call-billing queue: one job per call id (jobIds.callBilling), each charging the
// call's recorded report once (shared/calls/call-billing.ts). Safe to run twice: the charge is
// keyed on the call id in the ledger, and the report is stamped billed afterwards. A job ends only
// once the call's Redis hold is released too; until then it fails and is retried.
import { Worker } from 'bullmq';
import { billCall } from '../shared/calls/call-billing';
import type { Services } from '../shared/process/services';
import { createRedis } from '../shared/redis';
import { QUEUE_NAMES, type CallBillingJob } from '../shared/queues/queues';

/** Calls billed in parallel per process: each is a couple of short SQL calls. */
export const CALL_BILLING_CONCURRENCY = 8;

export function startCallBillingWorker(services: Services) {
  const connection = createRedis(services.config.redis, 'blocking', 'call-billing-worker');
  const worker = new Worker<CallBillingJob>(
    QUEUE_NAMES.callBilling,
    async (job) => {
      const r = await billCall(services.calls.billing, job.data.callId, 'report');
      // The report is written before its job is queued; not seeing it means a retry will.
      if (r.outcome === 'no_report') throw new Error(`no recorded report for call ${job.data.callId}`);
      // Charged, but the call's Redis hold may still count (Redis did not take the new balance or
      // the release): retried by BullMQ until it does — a settled call's retry charges nothing
      // and only writes the wallet and releases the hold (issue 22, item 1).
      if ((r.outcome === 'charged' || r.outcome === 'already_billed') && !r.hotReleased) {
        throw new Error(`call ${job.data.callId} is charged but its Redis hold is not released yet`);
      }
      return r;
    },
    { connection, prefix: services.keys.bullPrefixFor(QUEUE_NAMES.callBilling), concurrency: CALL_BILLING_CONCURRENCY },
  );
  worker.on('failed', (job, err) => {
    services.metrics.jobRetries.inc({ queue: QUEUE_NAMES.callBilling });
    services.log.warn({ callId: job?.data.callId, attempts: job?.attemptsMade, err: err.message }, 'call billing attempt failed');
  });
  worker.on('error', (err) => services.log.error({ err: err.message }, 'call billing worker error'));
  return {
    worker,
    async close(deadlineMs: number) {
      const timer = setTimeout(() => void worker.close(true), deadlineMs);
      await worker.close().finally(() => clearTimeout(timer));
      await connection.quit().catch(() => undefined);
    },
  };
}
