// Settles calls whose end-of-call report never came (failure mode 19) and re-drives reports
// that were recorded but not billed. Runs as the 'sweep-calls' task of the maintenance queue
// (a BullMQ job scheduler); sweepCalls is a plain function so tests can run one sweep at a time.
//
// Failure mode 29: both work lists are walked page by page (keyset cursors), and a call the
// sweeper cannot finish (still live at Vapi, or an error) is deferred with a growing backoff, so
// no number of stuck calls keeps it from the ones behind them, in this run or the next.
import type { Queue } from 'bullmq';
import { billCall, type CallBillingDeps } from '../shared/calls/call-billing';
import { enqueueBilling } from '../shared/calls/call-reports';
import type { CallDueForSweep, CallStore, SweepCursor } from '../shared/calls/call-store';
import type { VapiCallsClient } from '../shared/clients/vapi-client';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Services } from '../shared/process/services';
import { jobIds, type MaintenanceJob, type Queues } from '../shared/queues/queues';

export const CALL_SWEEP_SCHEDULER_ID = 'sweep-calls';

/**
 * Pages of each work list one run may walk. Bounds a run's length (each call is a Vapi request);
 * what is left is reached by the next run, which skips the calls this one deferred.
 */
export const CALL_SWEEP_MAX_PAGES = 10;

/**
 * Longest wait before an unfinished call is looked at again. A call can legitimately stay live
 * for hours (maxDurationSeconds up to 12 h), so the backoff stops growing here rather than
 * leaving a call that has finally ended unbilled for long.
 */
export const CALL_SWEEP_BACKOFF_MAX_MS = 10 * 60_000;

/** Caps the exponent so 2 ** n stays a finite number however often a call was deferred. */
const BACKOFF_MAX_DOUBLINGS = 30;

export interface CallSweepDeps {
  store: CallStore;
  billing: CallBillingDeps;
  vapiCalls: VapiCallsClient;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  graceSeconds: number;
  batchSize: number;
  /** SWEEP_INTERVAL_MS: the first backoff, so a deferred call skips no run it did not have to. */
  intervalMs: number;
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
    intervalMs: s.config.sweep.intervalMs,
  };
}

/** How long a call deferred `deferrals` times before waits now: the interval, doubling, capped. */
export function sweepBackoffMs(intervalMs: number, deferrals: number): number {
  return Math.min(CALL_SWEEP_BACKOFF_MAX_MS, intervalMs * 2 ** Math.min(Math.max(deferrals, 0), BACKOFF_MAX_DOUBLINGS));
}

export async function sweepCalls(d: CallSweepDeps, now: Date = new Date()): Promise<SweepSummary> {
  const summary: SweepSummary = { settled: 0, notFound: 0, stillLive: 0, reenqueued: 0, errors: 0 };

  await walkPages(
    d,
    'missing',
    (after) => d.store.callsDueForSweep(now, d.graceSeconds, d.batchSize, after),
    (c) => ({ at: c.hold_expires_at, callId: c.call_id }),
    async (call) => {
      if ((await settleFromVapi(d, call, summary)) === 'unfinished') await defer(d, call, now, summary);
    },
  );

  await walkPages(
    d,
    'unbilled',
    (after) => d.store.reportsDueForSweep(now, d.graceSeconds, d.batchSize, after),
    (r) => ({ at: r.received_at, callId: r.call_id }),
    async ({ call_id: callId }) => {
      try {
        if (await reenqueue(d.queues.callBilling, callId)) {
          d.metrics.sweeperRepairs.inc({ sweeper: 'calls', repair: 'billing_reenqueued' });
          summary.reenqueued++;
        }
      } catch (err) {
        summary.errors++;
        d.log.error({ callId, err: (err as Error).message }, 'call sweep: could not re-enqueue a billing job');
      }
    },
  );
  return summary;
}

/**
 * Reads a work list page by page, each page starting after the last row of the one before, until
 * a short page (the end) or CALL_SWEEP_MAX_PAGES. Rows left unfinished therefore never stop the
 * walk: the cursor moves past them whatever happened to them.
 */
async function walkPages<T>(
  d: CallSweepDeps,
  list: 'missing' | 'unbilled',
  page: (after: SweepCursor | null) => Promise<T[]>,
  cursorOf: (row: T) => SweepCursor,
  each: (row: T) => Promise<void>,
): Promise<void> {
  let after: SweepCursor | null = null;
  for (let n = 1; ; n++) {
    const rows = await page(after);
    for (const row of rows) await each(row);
    const last = rows.at(-1);
    if (rows.length < d.batchSize || last === undefined) return;
    if (n >= CALL_SWEEP_MAX_PAGES) {
      d.log.warn({ list, pages: n, batchSize: d.batchSize }, 'call sweep: page bound reached; the next run carries on');
      return;
    }
    after = cursorOf(last);
  }
}

/** Settles one call from GET /call/{id}; 'unfinished' when it is still live or anything failed. */
async function settleFromVapi(d: CallSweepDeps, call: CallDueForSweep, summary: SweepSummary): Promise<'finished' | 'unfinished'> {
  const { call_id: callId, org_id: orgId } = call;
  try {
    const found = await d.vapiCalls.getCall(callId);
    if (found.kind === 'not_found') {
      await d.store.settleNotFound(callId);
      await d.billing.hot.release(orgId, callId, Date.now() + d.graceSeconds * 1000).catch(() => undefined);
      d.metrics.sweeperRepairs.inc({ sweeper: 'calls', repair: 'call_not_found' });
      summary.notFound++;
      return 'finished';
    }
    const vapiCall = found.call;
    if (vapiCall.status !== 'ended') {
      summary.stillLive++;
      return 'unfinished';
    }
    await d.store.recordReport({
      callId,
      orgId,
      vapiPhoneNumberId: vapiCall.phoneNumberId ?? null,
      e164: null,
      startedAt: vapiCall.startedAt ?? null,
      endedAt: vapiCall.endedAt ?? null,
      durationSeconds: null,
      endedReason: vapiCall.endedReason ?? null,
      source: 'vapi_api',
      fromNumber: vapiCall.customer?.number ?? null,
    });
    const r = await billCall(d.billing, callId, 'sweeper');
    d.metrics.callReportsMissing.inc();
    d.metrics.sweeperRepairs.inc({ sweeper: 'calls', repair: 'report_missing' });
    d.log.warn({ callId, orgId, outcome: r.outcome }, 'call settled from the Vapi API: its end-of-call report never came');
    summary.settled++;
    return 'finished';
  } catch (err) {
    summary.errors++;
    d.log.error({ callId, err: (err as Error).message }, 'call sweep: could not settle a call; retried after its backoff');
    return 'unfinished';
  }
}

async function defer(d: CallSweepDeps, call: CallDueForSweep, now: Date, summary: SweepSummary): Promise<void> {
  // From the sweep's `now`: the clock calls_due_for_sweep compares next_sweep_at with.
  const until = new Date(now.getTime() + sweepBackoffMs(d.intervalMs, call.sweep_deferrals));
  try {
    await d.store.deferSweep(call.call_id, until);
  } catch (err) {
    // Not deferred: the next run looks at the call again, the cursor still moves past it now.
    summary.errors++;
    d.log.error({ callId: call.call_id, err: (err as Error).message }, 'call sweep: could not defer a call');
  }
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
