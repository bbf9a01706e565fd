// end-of-call-report and status-update: record what the call did, durably, and queue its
// billing. Idempotency is per call id AND message type (failure mode 8): the report has its own
// table keyed on the call id, so an earlier status-update of the call can never make it a duplicate.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Queues } from '../queues/queues';
import { jobIds, moneyJobOptions } from '../queues/queues';
import type { CallStore } from './call-store';
import type { RedisHolds } from './redis-holds';
import { isoOrNull, metadataOrgId, type VapiMessage } from './vapi-messages';

export interface CallReportDeps {
  store: CallStore;
  queues: Queues;
  hot: RedisHolds;
  log: Logger;
  metrics: Metrics;
  holdGraceSeconds: number;
}

export type ReportOutcome = 'recorded' | 'duplicate' | 'invalid';

/** Records the first report of the call and queues its billing (also for calls that never passed the gate). */
export async function recordEndOfCallReport(d: CallReportDeps, m: VapiMessage): Promise<ReportOutcome> {
  const callId = m.call?.id;
  if (callId === undefined) return 'invalid';
  const r = await d.store.recordReport({
    callId,
    orgId: metadataOrgId(m) ?? null,
    vapiPhoneNumberId: m.call?.phoneNumberId ?? m.phoneNumber?.id ?? null,
    e164: m.phoneNumber?.number ?? null,
    startedAt: isoOrNull(m.startedAt ?? m.call?.startedAt),
    endedAt: isoOrNull(m.endedAt ?? m.call?.endedAt),
    durationSeconds: m.durationSeconds ?? null,
    endedReason: m.endedReason ?? m.call?.endedReason ?? null,
    source: 'webhook',
  });
  if (!r.billed && r.org_id !== null) {
    try {
      await enqueueBilling(d.queues, callId);
    } catch (err) {
      // The report is safe in Postgres; the sweeper re-enqueues unbilled reports after the grace.
      d.metrics.walletFailures.inc({ operation: 'call_billing_enqueue' });
      d.log.error({ callId, err: (err as Error).message }, 'could not queue the billing of a recorded report; the sweeper will');
    }
  }
  return r.outcome;
}

/** Queues the billing of a recorded report; one job per call id (BullMQ de-duplicates the id). */
export async function enqueueBilling(queues: Queues, callId: string): Promise<void> {
  const jobId = jobIds.callBilling(callId);
  await queues.callBilling.add('bill-call', { callId }, moneyJobOptions(jobId));
}

/** status-update "ended": the call's hold stops counting, in Postgres and in Redis. */
export async function releaseEndedCall(d: CallReportDeps, m: VapiMessage): Promise<void> {
  const callId = m.call?.id;
  if (callId === undefined || m.status !== 'ended') return;
  const cause = `ended:${m.endedReason ?? m.call?.endedReason ?? 'unknown'}`;
  let orgId = metadataOrgId(m);
  try {
    const r = await d.store.releaseHold(callId, cause);
    if (r.outcome !== 'not_found') orgId ??= r.org_id;
  } catch (err) {
    d.log.warn({ callId, err: (err as Error).message }, 'could not release a hold in Postgres; it will expire');
  }
  if (orgId === undefined) return;
  try {
    await d.hot.release(orgId, callId, Date.now() + d.holdGraceSeconds * 1000);
  } catch (err) {
    d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not release a hold in Redis; it will expire');
  }
}
