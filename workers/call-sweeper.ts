// Settles calls whose end-of-call report never came (failure mode 19) and re-drives reports
// that were recorded but not billed. Runs as the 'sweep-calls' task of the maintenance queue
// (a BullMQ job scheduler); sweepCalls is a plain function so tests can run one sweep at a time.
import type { Queue } from 'bullmq';
import { billCall, type CallBillingDeps } from '../shared/calls/call-billing';
import { enqueueBilling } from '../shared/calls/call-reports';
import type { CallStore } from '../shared/calls/call-store';
import type { VapiCallsClient } from '../shared/clients/vapi-client';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Services } from '../shared/process/services';
import { jobIds, type MaintenanceJob, type Queues } from '../shared/queues/queues';

export const CALL_SWEEP_SCHEDULER_ID = 'sweep-calls';

export interface CallSweepDeps {
  store: CallStore;
  billing: CallBillingDeps;
  vapiCalls: VapiCallsClient;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  graceSeconds: number;
  batchSize: number;
}

export interface SweepSummary {
  settled: number;
  notFound: number;
  stillLive: number;
  reenqueued: number;
  errors: number;
}

export function callSweepDeps(s: Services): CallSweepDeps {
  return {
    store: s.calls.store,
    billing: s.calls.billing,
    vapiCalls: s.calls.vapiCalls,
    queues: s.queues,
    metrics: s.metrics,
    log: s.log,
    graceSeconds: s.config.callGate.holdGraceSeconds,
    batchSize: s.config.callGate.sweepBatchSize,
  };
}

export async function sweepCalls(d: CallSweepDeps, now: Date = new Date()): Promise<SweepSummary> {
  const summary: SweepSummary = { settled: 0, notFound: 0, stillLive: 0, reenqueued: 0, errors: 0 };
  const due = await d.store.dueForSweep(now, d.graceSeconds, d.batchSize);

  for (const { call_id: callId, org_id: orgId } of due.missing) {
    try {
      const found = await d.vapiCalls.getCall(callId);
      if (found.kind === 'not_found') {
        await d.store.settleNotFound(callId);
        await d.billing.hot.release(orgId, callId, Date.now() + d.graceSeconds * 1000).catch(() => undefined);
        d.metrics.sweeperRepairs.inc({ sweeper: 'calls', repair: 'call_not_found' });
        summary.notFound++;
        continue;
      }
      const call = found.call;
      if (call.status !== 'ended') {
        summary.stillLive++;
        continue;
      }
      await d.store.recordReport({
        callId,
        orgId,
        vapiPhoneNumberId: call.phoneNumberId ?? null,
        e164: null,
        startedAt: call.startedAt ?? null,
        endedAt: call.endedAt ?? null,
        durationSeconds: null,
        endedReason: call.endedReason ?? null,
        source: 'vapi_api',
      });
      const r = await billCall(d.billing, callId, 'sweeper');
      d.metrics.callReportsMissing.inc();
      d.metrics.sweeperRepairs.inc({ sweeper: 'calls', repair: 'report_missing' });
      d.log.warn({ callId, orgId, outcome: r.outcome }, 'call settled from the Vapi API: its end-of-call report never came');
      summary.settled++;
    } catch (err) {
      summary.errors++;
      d.log.error({ callId, err: (err as Error).message }, 'call sweep: could not settle a call; next sweep retries');
    }
  }

  for (const callId of due.unbilled) {
    try {
      if (await reenqueue(d.queues.callBilling, callId)) {
        d.metrics.sweeperRepairs.inc({ sweeper: 'calls', repair: 'billing_reenqueued' });
        summary.reenqueued++;
      }
    } catch (err) {
      summary.errors++;
      d.log.error({ callId, err: (err as Error).message }, 'call sweep: could not re-enqueue a billing job');
    }
  }
  return summary;
}

/** Queues the billing job again unless one is already waiting or running. */
async function reenqueue(queue: Queues['callBilling'], callId: string): Promise<boolean> {
  const job = await queue.getJob(jobIds.callBilling(callId));
  const state = job ? await job.getState() : 'unknown';
  if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return false;
  if (job && state === 'failed') {
    await job.retry('failed');
    return true;
  }
  if (job) await job.remove();
  await enqueueBilling({ callBilling: queue } as Queues, callId);
  return true;
}

/** Registers (or updates) the repeating sweep on the maintenance queue. */
export async function scheduleCallSweep(maintenance: Queue<MaintenanceJob>, intervalMs: number): Promise<void> {
  await maintenance.upsertJobScheduler(CALL_SWEEP_SCHEDULER_ID, { every: intervalMs }, { name: CALL_SWEEP_SCHEDULER_ID, data: { task: 'sweep-calls' } });
}
