// end-of-call-report and status-update: record what the call did, durably, and queue its
// billing. Idempotency is per call id AND message type (failure mode 8): the report has its own
// table keyed on the call id, so an earlier status-update of the call can never make it a duplicate.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Queues } from '../queues/queues';
import { jobIds, moneyJobOptions } from '../queues/queues';
import { defaultCallRate, type Pricing } from '../pricing';
import type { Meters } from './call-meter';
import { secondsPaidFor } from './hold-policy';
import { holdRate, type CallStore, type HoldRecord, type PostgresEnd } from './call-store';
import type { NumberResolver } from './number-resolver';
import type { EndOutcome, RedisHolds } from './redis-holds';
import { isoOrNull, metadataOrgId, outboundCallId, type VapiMessage } from './vapi-messages';

export interface CallReportDeps {
  store: CallStore;
  queues: Queues;
  hot: RedisHolds;
  numbers: NumberResolver;
  meters: Meters;
  log: Logger;
  metrics: Metrics;
  pricing: Pricing;
  holdPolicy: 'metered' | 'full';
  holdGraceSeconds: number;
  /**
   * Releases the Redis hold of a call Postgres says is settled, after writing the wallet through
   * (call-billing.ts releaseSettledHold).
   */
  releaseSettled(orgId: string, callId: string): Promise<unknown>;
}

export type ReportOutcome = 'recorded' | 'duplicate' | 'invalid';

/** Records the first report of the call and queues its billing (also for calls that never passed the gate). */
export async function recordEndOfCallReport(d: CallReportDeps, m: VapiMessage): Promise<ReportOutcome> {
  const callId = m.call?.id;
  if (callId === undefined) return 'invalid';
  // The customer's number and ours: an inbound call came from the customer to our number; an
  // outbound call we placed (CONTRACT §10) went from our number to the customer.
  const customerNumber = m.customer?.number ?? m.call?.customer?.number ?? null;
  const ourNumber = m.phoneNumber?.number ?? null;
  const outbound = outboundCallId(m) !== undefined;
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
    fromNumber: outbound ? ourNumber : customerNumber,
    toNumber: outbound ? customerNumber : ourNumber,
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

/** The organisation of a message's call: our answer's metadata, else the number the call came in on. */
async function orgOfMessage(d: CallReportDeps, m: VapiMessage): Promise<string | undefined> {
  const fromMetadata = metadataOrgId(m);
  if (fromMetadata !== undefined) return fromMetadata;
  const lookup = { vapiPhoneNumberId: m.call?.phoneNumberId ?? m.phoneNumber?.id ?? null, e164: m.phoneNumber?.number ?? null };
  if (lookup.vapiPhoneNumberId === null && lookup.e164 === null) return undefined;
  const r = await d.numbers.resolve(lookup);
  return r.kind === 'found' ? r.number.orgId : undefined;
}

/**
 * status-update "ended": the call's hold becomes the cost of the time since its admission (so a
 * call right after a short one is admitted, and one right after a long one is not admitted on
 * money already spent) and stops being renewed; it counts until the charge replaces it. The call
 * is found by its id, its organisation by the message's metadata or number, else by Postgres's
 * record — whichever store heard of the call first, in whatever order its messages come.
 * A call already settled (its charge posted) keeps no hold whatever comes after: Postgres leaves
 * it as it is (call_hold_end answers 'settled'), and an entry Redis still counted — its release
 * after the charge failed, so the "ended" just sized it — is released (issue 22, item 7).
 */
export async function endedCall(d: CallReportDeps, m: VapiMessage): Promise<void> {
  const callId = m.call?.id;
  if (callId === undefined || m.status !== 'ended') return;
  const rate = d.pricing.callRatePerMinute;
  const grace = d.holdGraceSeconds;
  let orgId = await orgOfMessage(d, m).catch(() => undefined);
  if (orgId === undefined) {
    // Neither metadata nor a number in the message: Postgres's record of the call, if written yet.
    const meter = await d.store.meter(callId).catch(() => undefined);
    if (meter?.outcome === 'found') orgId = meter.org_id;
  }
  let redisView: EndOutcome | undefined;
  if (orgId !== undefined) {
    try {
      redisView = await d.hot.end(orgId, callId, rate, grace);
    } catch (err) {
      d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not size an ended call in Redis; Postgres still counts it');
    }
  }
  // Redis's view creates Postgres's row when the gate's batched record has not arrived yet.
  const record: HoldRecord | null =
    orgId !== undefined && redisView !== undefined && 'amount' in redisView
      ? {
          call_id: callId,
          org_id: orgId,
          amount: redisView.amount,
          max_duration_seconds: redisView.maxDurationSeconds,
          expires_at_ms: redisView.expiresAtMs,
          admitted_at_ms: redisView.admittedAtMs,
          cap: redisView.cap,
          held_seconds: secondsPaidFor(d.pricing, redisView.amount, redisView.maxDurationSeconds, holdRate(redisView.rate ?? {}, defaultCallRate(d.pricing))),
          slices: redisView.slices,
          policy: d.holdPolicy,
          ended_at_ms: Date.now(),
          ...redisView.rate,
        }
      : null;
  let pg: PostgresEnd | undefined;
  try {
    pg = await d.store.endHold(callId, rate, grace, record);
  } catch (err) {
    d.log.warn({ callId, err: (err as Error).message }, 'could not size an ended call in Postgres; its hold counts until billed');
  }
  if (pg !== undefined && pg.outcome !== 'not_found') orgId ??= pg.org_id;
  if (orgId !== undefined && pg?.outcome === 'settled' && redisView !== undefined && 'amount' in redisView) {
    await d.releaseSettled(orgId, callId).catch((err: unknown) => {
      d.log.warn({ callId, orgId, err: (err as Error).message }, "could not release a settled call's Redis hold; the sweeper will");
    });
    return;
  }
  d.metrics.callHoldEvents.inc({ event: 'ended', store: redisView !== undefined && 'amount' in redisView ? 'cache' : 'database' });
  // Redis did not know the call (a Postgres-path admission, or Redis lost it): copy the ended
  // hold over, so the Redis path counts it too.
  if (orgId !== undefined && pg?.outcome === 'ended' && (redisView === undefined || redisView.outcome === 'missing')) {
    try {
      const meter = await d.store.meter(callId);
      if (meter.outcome === 'found') await d.hot.mirror(orgId, [meter.hold]);
    } catch (err) {
      d.log.warn({ callId, orgId, err: (err as Error).message }, 'could not copy an ended hold into Redis; the sweeper will');
    }
  }
}

/** Any message of a call may carry its live-call-control URL: keep it (a secret) for ending the call. */
export async function learnControlUrl(d: CallReportDeps, m: VapiMessage): Promise<void> {
  const callId = m.call?.id;
  const url = m.call?.monitor?.controlUrl;
  if (callId === undefined || url === undefined) return;
  await d.meters.learnControlUrl(callId, url).catch((err: unknown) => d.log.warn({ callId, err: (err as Error).message }, 'could not store a call control URL'));
}
