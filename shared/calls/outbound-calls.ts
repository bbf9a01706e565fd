// Outbound calls (CONTRACT §10; failure mode 41): the service places them itself through Vapi
// POST /call, so Vapi never asks the gate; they pass the same gate before they exist.
//   1. outbound_call_admit, one transaction: the Idempotency-Key (a replay answers from its
//      record and places nothing), the caller's number, the destination's rate (blocked
//      prefixes), dialing permissions, calls per second, the platform's capacity, then the
//      Postgres-path admission at that rate (hold, spend controls, frozen), the key recorded
//      'placing' with the hold.
//   2. The hold is copied into Redis and its meter started exactly as a Postgres-path inbound
//      admission's (call-services admitted()): from here it is metered, renewed, ended and billed
//      as an inbound call, keyed by our call id (Vapi's messages carry it as
//      assistantOverrides.metadata.billingCallId; vapi-messages.ts keys them by it).
//   3. Vapi POST /call with maxDurationSeconds = the granted seconds: its answer → placed (the
//      key's record becomes the 201 answer); a 4xx → not placed (hold released, nothing charged,
//      502); no answer (timeout, 5xx, network) → the call may exist: the hold stays, the answer is
//      202 `placing`, and a replay never places a second call. The call sweeper then learns its
//      fate from Vapi's listing (sweepPlacing): found → placed; absent long after → not placed.
import { randomUUID } from 'node:crypto';
import { VapiApiError, type VapiCall, type VapiCallsClient } from '../clients/vapi-client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { defaultCallRate } from '../pricing';
import { releaseHot } from './call-billing';
import type { CallServices } from './call-services';
import { admitTermsOf, holdRate } from './call-store';
import { secondsPaidFor } from './hold-policy';
import type { OutboundAdmission, OutboundStore, PlacingCall } from './outbound-store';

/** An outbound call whose answer never came is looked for in Vapi's listing this long after its admission (ms) at the earliest. */
export const OUTBOUND_LOOK_AFTER_MS = 30_000;
/** Not found in Vapi's listing this long after its admission (ms): Vapi never made it; its hold is released. */
export const OUTBOUND_GIVE_UP_MS = 10 * 60_000;
/** The listing's window around the admission (ms): Vapi's createdAt is its own clock's. */
export const OUTBOUND_LISTING_SKEW_MS = 5 * 60_000;
/** Calls looked for per sweep. */
export const OUTBOUND_SWEEP_BATCH = 100;
/** The metadata key our call id travels under (assistantOverrides.metadata), beside orgId. */
export const BILLING_CALL_ID_KEY = 'billingCallId';

export interface PlaceCallInput {
  orgId: string;
  idempotencyKey: string;
  fingerprint: string;
  destination: { e164: string; country: string | null };
  phoneNumberId: string;
  assistantId: string;
  metadata: Record<string, unknown> | undefined;
}

/** The answer of POST /api/calls, before it is turned into HTTP (api/routes/place-call.ts). */
export type PlaceCallResult =
  | { kind: 'placed'; body: Record<string, unknown>; replayed: boolean }
  | { kind: 'placing'; callId: string; replayed: boolean }
  | { kind: 'not_placed'; body: Record<string, unknown>; replayed: boolean }
  | { kind: 'refused'; admission: Exclude<OutboundAdmission, { outcome: 'held' | 'placing' | 'placed' | 'failed' }> };

export interface OutboundDeps {
  config: Config;
  store: OutboundStore;
  calls: CallServices;
  vapi: VapiCallsClient;
  metrics: Metrics;
  log: Logger;
  clock: () => number;
}

export function createOutboundCalls(d: OutboundDeps) {
  const { pricing } = d.config;
  const defaultRate = defaultCallRate(pricing);

  const decided = (outcome: string) => d.metrics.gateDecisions.inc({ gate: 'outbound', outcome, path: 'database' });

  async function learnControl(callId: string, call: VapiCall): Promise<void> {
    const url = call.monitor?.controlUrl;
    if (typeof url !== 'string') return;
    await d.calls.meters.learnControlUrl(callId, url).catch((err: unknown) => d.log.warn({ callId, err: (err as Error).message }, 'could not store a call control URL'));
  }

  async function notPlaced(orgId: string, callId: string, why: string, body: Record<string, unknown>): Promise<void> {
    const r = await d.store.failed(callId, why, body);
    if (r.outcome === 'failed') await releaseHot(d.calls.billing, orgId, callId);
  }

  async function place(i: PlaceCallInput): Promise<PlaceCallResult> {
    const callId = randomUUID();
    const a = await d.store.admit({
      orgId: i.orgId,
      callId,
      idempotencyKey: i.idempotencyKey,
      fingerprint: i.fingerprint,
      destination: i.destination.e164,
      country: i.destination.country,
      phoneNumberId: i.phoneNumberId,
      assistantId: i.assistantId,
      ...admitTermsOf(d.config),
      concurrencyLimit: d.config.outbound.concurrencyLimit,
      nowMs: d.clock(),
    });
    switch (a.outcome) {
      case 'placing':
        return { kind: 'placing', callId: a.call_id, replayed: true };
      case 'placed':
        return { kind: 'placed', body: a.answer, replayed: true };
      case 'failed':
        return { kind: 'not_placed', body: a.answer, replayed: true };
      case 'held':
        break;
      default:
        if (!('replayed' in a) || !a.replayed) decided(refusalOutcome(a));
        return { kind: 'refused', admission: a };
    }
    decided('allowed');
    const { hold } = a;
    const heldSeconds = secondsPaidFor(pricing, hold.amount, hold.max_duration_seconds, holdRate(hold, defaultRate));
    // The hold into Redis and its meter, as a Postgres-path inbound admission's.
    await d.calls.admitted({
      kind: 'allowed',
      callId,
      orgId: i.orgId,
      assistantId: i.assistantId,
      maxDurationSeconds: a.max_duration_seconds,
      holdAmount: hold.amount,
      path: 'database_fallback',
      placed: { hold, heldSeconds },
    });
    const body = {
      callId,
      vapiCallId: '',
      maxDurationSeconds: a.max_duration_seconds,
      rate: { prefix: a.rate.prefix, ratePerMinute: a.rate.rate_per_minute, connectFee: a.rate.connect_fee },
      currency: a.currency,
    };
    let call: VapiCall;
    try {
      call = await d.vapi.createCall({
        assistantId: i.assistantId,
        phoneNumberId: a.vapi_phone_number_id,
        customer: { number: i.destination.e164 },
        assistantOverrides: {
          maxDurationSeconds: a.max_duration_seconds,
          metadata: { ...(i.metadata ?? {}), orgId: i.orgId, [BILLING_CALL_ID_KEY]: callId },
        },
      });
    } catch (err) {
      if (err instanceof VapiApiError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
        // Vapi refused: no call exists. The hold goes, nothing is charged; the key keeps this answer.
        const failure = { error: 'call_not_placed', message: 'Vapi refused to place the call; nothing was charged.', callId, vapiStatus: err.status };
        await notPlaced(i.orgId, callId, err.message, failure);
        d.metrics.outboundPlacements.inc({ outcome: 'refused_by_vapi' });
        d.log.warn({ callId, orgId: i.orgId, status: err.status }, 'outbound call: Vapi refused POST /call');
        return { kind: 'not_placed', body: failure, replayed: false };
      }
      // No answer: the call may exist. Never placed again for this key; the sweeper finds out.
      d.metrics.outboundPlacements.inc({ outcome: 'answer_lost' });
      d.log.warn({ callId, orgId: i.orgId, err: (err as Error).message }, 'outbound call: Vapi did not answer POST /call; the hold stays until the sweeper learns its fate');
      return { kind: 'placing', callId, replayed: false };
    }
    const answer = { ...body, vapiCallId: call.id };
    const p = await d.store.placed(callId, call.id, answer);
    await learnControl(callId, call);
    d.metrics.outboundPlacements.inc({ outcome: p.outcome === 'placed' ? 'placed' : p.outcome });
    return { kind: 'placed', body: answer, replayed: false };
  }

  /**
   * The outbound calls whose Vapi answer was lost: each looked for in Vapi's listing (by its
   * number and creation time, matched by our call id in its metadata). Found → placed (its
   * messages and report bill it as any call); absent OUTBOUND_GIVE_UP_MS after its admission →
   * not placed, its hold released; otherwise (or on error) looked at again later.
   */
  async function sweepPlacing(now: Date): Promise<{ placed: number; notPlaced: number; deferred: number; errors: number }> {
    const summary = { placed: 0, notPlaced: 0, deferred: 0, errors: 0 };
    const due = await d.store.placing(now, new Date(now.getTime() - OUTBOUND_LOOK_AFTER_MS), OUTBOUND_SWEEP_BATCH);
    for (const c of due) {
      try {
        const found = await findPlaced(c);
        if (found !== undefined) {
          const a = await d.store.placed(c.call_id, found.id, await answerOf(c, found));
          await learnControl(c.call_id, found);
          if (a.outcome === 'placed') summary.placed++;
          d.metrics.outboundPlacements.inc({ outcome: 'found_by_sweeper' });
          d.log.warn({ callId: c.call_id, orgId: c.org_id, vapiCallId: found.id }, 'outbound call: found in Vapi after its answer was lost');
        } else if (now.getTime() - Date.parse(c.created_at) >= OUTBOUND_GIVE_UP_MS) {
          await notPlaced(c.org_id, c.call_id, 'not in Vapi after its answer was lost', {
            error: 'call_not_placed',
            message: 'Vapi did not place the call; nothing was charged.',
            callId: c.call_id,
          });
          d.metrics.outboundPlacements.inc({ outcome: 'not_found_by_sweeper' });
          summary.notPlaced++;
        } else {
          await d.store.defer(c.call_id, new Date(now.getTime() + OUTBOUND_LOOK_AFTER_MS));
          summary.deferred++;
        }
      } catch (err) {
        summary.errors++;
        // Never given up on an error: its hold stays until its fate is known (alert
        // BillingGatesOutboundCallsUnresolved while this keeps happening).
        d.metrics.outboundPlacements.inc({ outcome: 'lookup_failed' });
        d.log.error({ callId: c.call_id, err: (err as Error).message }, 'outbound sweep: could not learn a call\'s fate; tried again later');
        await d.store.defer(c.call_id, new Date(now.getTime() + OUTBOUND_LOOK_AFTER_MS)).catch(() => undefined);
      }
    }
    return summary;
  }

  /**
   * Every page of the number's calls in the window, not only the newest 1000: a campaign dialer
   * places more than that in 20 minutes, and a call missed here is given up though Vapi made it.
   * Read until the call turns up; a listing that cannot be read whole throws (the call is looked
   * at again later, never given up on a partial listing).
   */
  async function findPlaced(c: PlacingCall): Promise<VapiCall | undefined> {
    const at = Date.parse(c.created_at);
    const window = {
      phoneNumberId: c.vapi_phone_number_id,
      createdAtGe: new Date(at - OUTBOUND_LISTING_SKEW_MS).toISOString(),
      createdAtLe: new Date(at + OUTBOUND_LISTING_SKEW_MS + OUTBOUND_GIVE_UP_MS).toISOString(),
    };
    return d.vapi.eachCallPage(window, async (page) => page.find((v) => v.assistantOverrides?.metadata?.[BILLING_CALL_ID_KEY] === c.call_id));
  }

  /** The 201 answer a replay of the key gets once the sweeper found the call (from the calls row). */
  async function answerOf(c: PlacingCall, found: VapiCall): Promise<Record<string, unknown>> {
    const m = await d.calls.store.meter(c.call_id);
    const hold = m.outcome === 'found' ? m.hold : undefined;
    const rate = hold === undefined ? defaultRate : holdRate(hold, defaultRate);
    return {
      callId: c.call_id,
      vapiCallId: found.id,
      maxDurationSeconds: hold?.max_duration_seconds ?? null,
      rate: { prefix: rate.prefix, ratePerMinute: rate.ratePerMinute, connectFee: rate.connectFee },
      currency: pricing.currency,
    };
  }

  return { place, sweepPlacing };
}

export type OutboundCalls = ReturnType<typeof createOutboundCalls>;

function refusalOutcome(a: { outcome: string; reason?: string; limit?: string | number }): string {
  if (a.outcome === 'destination_not_allowed') return `refused_destination_${a.reason ?? 'not_allowed'}`;
  if (a.outcome === 'limit_reached') return `refused_${String(a.limit)}`;
  return `refused_${a.outcome}`;
}
