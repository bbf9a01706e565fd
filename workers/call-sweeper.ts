// Settles calls whose end-of-call report never came (failure mode 19) and re-drives reports
// that were recorded but not billed. Runs as the 'sweep-calls' task of the maintenance queue
// (a BullMQ job scheduler); sweepCalls is a plain function so tests can run one sweep at a time.
//
// Failure mode 29: the work lists are walked page by page (keyset cursors), and a call the
// sweeper cannot finish (still live at Vapi, or an error) is deferred with a growing backoff, so
// no number of stuck calls keeps it from the ones behind them, in this run or the next.
//
// A third list (issue 22, item 1): settled calls whose Redis hold Redis has not been seen to
// release (calls.hot_released_at null: the release after the charge failed and its retries did
// not finish). Each organisation's wallet is written through first, then the call's entry is
// released, so Redis never shows a balance from before the charge without the hold standing for it.
//
// Outbound calls (CONTRACT §10) are settled the same way, looked up at Vapi by their Vapi id; one
// whose POST /call answer was lost is first looked for in Vapi's listing by the same job
// (shared/calls/outbound-calls.ts sweepPlacing, run before sweepCalls in workers/main.ts).
import { billCall, releaseHot, releaseSettledHold, writeWalletThrough, type CallBillingDeps } from '../shared/calls/call-billing';
import { enqueueBilling } from '../shared/calls/call-reports';
import type { CallDueForSweep, CallStore, SweepCursor } from '../shared/calls/call-store';
import type { VapiCallsClient } from '../shared/clients/vapi-client';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Services } from '../shared/process/services';
import { jobIds, type Queues } from '../shared/queues/queues';
import { walkPages, type PageWalk } from './walk-pages';

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
  /** Redis holds of settled calls that were still counting, released. */
  holdsReleased: number;
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
  const summary: SweepSummary = { settled: 0, notFound: 0, stillLive: 0, reenqueued: 0, holdsReleased: 0, errors: 0 };

  await walkList(d, 'missing', {
    page: (after) => d.store.callsDueForSweep(now, d.graceSeconds, d.batchSize, after),
    cursorOf: (c) => ({ at: c.hold_expires_at, callId: c.call_id }),
    each: async (call) => {
      if ((await settleFromVapi(d, call, summary)) === 'unfinished') await defer(d, call, now, summary);
    },
  });

  await walkList(d, 'unbilled', {
    page: (after) => d.store.reportsDueForSweep(now, d.graceSeconds, d.batchSize, after),
    cursorOf: (r) => ({ at: r.received_at, callId: r.call_id }),
    each: async ({ call_id: callId }) => {
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
  });

  // Each organisation's wallet once per run: the release of every one of its calls comes after it.
  const walletWritten = new Map<string, Promise<boolean>>();
  await walkList(d, 'settled', {
    page: (after) => d.store.callsDueForHotRelease(now, d.batchSize, after),
    cursorOf: (c) => ({ at: c.hold_expires_at, callId: c.call_id }),
    each: async ({ call_id: callId, org_id: orgId }) => {
      try {
        let written = walletWritten.get(orgId);
        if (written === undefined) walletWritten.set(orgId, (written = writeWalletThrough(d.billing, orgId)));
        // Redis did not take the wallet: released on a later run (the call stays on the list).
        if (!(await written)) return;
        if ((await releaseSettledHold(d.billing, orgId, callId, 'sweeper', true)) === 'released') summary.holdsReleased++;
      } catch (err) {
        summary.errors++;
        d.log.error({ callId, orgId, err: (err as Error).message }, "call sweep: could not release a settled call's Redis hold");
      }
    },
  });
  return summary;
}

/**
 * Walks one work list (walk-pages.ts) in pages of CALL_SWEEP_BATCH_SIZE, at most
 * CALL_SWEEP_MAX_PAGES of them, each time from its first due row: the rows it could not finish
 * are deferred, so the next run reaches the ones behind them.
 */
async function walkList<T>(d: CallSweepDeps, list: 'missing' | 'unbilled' | 'settled', walk: Pick<PageWalk<T, SweepCursor>, 'page' | 'cursorOf' | 'each'>): Promise<void> {
  const { pages, bounded } = await walkPages({ ...walk, pageSize: d.batchSize, maxPages: CALL_SWEEP_MAX_PAGES });
  if (bounded) d.log.warn({ list, pages, batchSize: d.batchSize }, 'call sweep: page bound reached; the next run carries on');
}

/** Settles one call from GET /call/{id}; 'unfinished' when it is still live or anything failed. */
async function settleFromVapi(d: CallSweepDeps, call: CallDueForSweep, summary: SweepSummary): Promise<'finished' | 'unfinished'> {
  const { call_id: callId, org_id: orgId } = call;
  try {
    // An outbound call is ours by our id; Vapi knows it by its own (calls_due_for_sweep gives it).
    const found = await d.vapiCalls.getCall(call.vapi_call_id ?? callId);
    if (found.kind === 'not_found') {
      await d.store.settleNotFound(callId);
      // No charge, so no balance to write first. A release Redis does not confirm is finished by
      // this sweeper's settled list (the call is settled now, its release not yet recorded).
      await releaseHot(d.billing, orgId, callId);
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
      // The customer's number: the caller of an inbound call, the destination of one we placed.
      ...(call.vapi_call_id ? { toNumber: vapiCall.customer?.number ?? null } : { fromNumber: vapiCall.customer?.number ?? null }),
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
