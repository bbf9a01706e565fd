// Typed wrappers over the SQL of outbound calls, rates and dialing permissions
// (supabase/schemas/calls/functions/outbound_call_*.sql, call_rates_*.sql, org_dialing_*.sql).
// Expected outcomes come back as discriminated unions; only an unreachable database throws.
import { z } from 'zod';
import { parseRpcResult } from '../db/parse-rpc-result';
import type { Rpc } from '../db/rpc';
import { holdStepHold, rateRow, type AdmitTerms, type RateRow } from './call-store';

const int = z.number().int();

const admitted = z.union([
  z.object({
    outcome: z.literal('held'),
    call_id: z.string(),
    hold: holdStepHold,
    max_duration_seconds: int,
    available: int,
    rate: z.object({ prefix: z.string().nullable(), rate_per_minute: int, connect_fee: int, minimum_seconds: int, increment_seconds: int }),
    currency: z.string(),
    vapi_phone_number_id: z.string(),
    replayed: z.literal(false),
  }),
  z.object({ outcome: z.literal('placing'), call_id: z.string(), replayed: z.literal(true) }),
  z.object({ outcome: z.enum(['placed', 'failed']), answer: z.record(z.string(), z.unknown()), replayed: z.literal(true) }),
  z.object({ outcome: z.literal('insufficient_funds'), balance: int, available: int, required: int, shortfall: int, currency: z.string(), replayed: z.boolean() }),
  z.object({ outcome: z.literal('wallet_frozen'), replayed: z.boolean() }),
  z.object({ outcome: z.literal('limit_reached'), limit: z.string(), replayed: z.boolean() }),
  z.object({ outcome: z.literal('destination_not_allowed'), destination: z.string(), reason: z.enum(['blocked', 'country']), replayed: z.boolean() }),
  z.object({ outcome: z.literal('number_past_due'), phone_number_id: z.string(), replayed: z.boolean() }),
  z.object({ outcome: z.enum(['calls_per_second', 'platform_at_capacity']), limit: int }),
  z.object({ outcome: z.enum(['unknown_phone_number', 'idempotency_key_reused', 'not_found']) }),
]);
export type OutboundAdmission = z.output<typeof admitted>;

const placed = z.object({ outcome: z.enum(['placed', 'already', 'failed', 'not_found']), org_id: z.string().optional(), vapi_call_id: z.string().optional() });
const failed = z.object({ outcome: z.enum(['failed', 'unchanged', 'not_found']), org_id: z.string().optional(), state: z.string().optional() });
const placing = z.object({
  placing: z.array(z.object({ call_id: z.string(), org_id: z.string(), created_at: z.string(), vapi_phone_number_id: z.string(), destination: z.string() })),
});
export type PlacingCall = z.output<typeof placing>['placing'][number];
const rates = z.object({ rates: z.array(rateRow) });
const dialing = z.union([
  z.object({ outcome: z.literal('found'), allowed_countries: z.array(z.string()).nullable(), calls_per_second: int.nullable() }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type OrgDialing = z.output<typeof dialing>;

/** What outbound_call_admit needs (see its header). */
export interface OutboundAdmitInput extends AdmitTerms {
  orgId: string;
  callId: string;
  idempotencyKey: string;
  fingerprint: string;
  destination: string;
  country: string | null;
  phoneNumberId: string;
  assistantId: string;
  concurrencyLimit: number | null;
  nowMs: number;
}

export function createOutboundStore(rpc: Rpc) {
  return {
    async admit(i: OutboundAdmitInput): Promise<OutboundAdmission> {
      const raw = await rpc.call('outbound_call_admit', {
        p_org_id: i.orgId,
        p_call_id: i.callId,
        p_idempotency_key: i.idempotencyKey,
        p_fingerprint: i.fingerprint,
        p_destination: i.destination,
        p_country: i.country,
        p_phone_number_id: i.phoneNumberId,
        p_assistant_id: i.assistantId,
        p_rate_per_minute: i.ratePerMinute,
        p_min_balance: i.minBalance,
        p_safety_margin_seconds: i.safetyMarginSeconds,
        p_hold_grace_seconds: i.holdGraceSeconds,
        p_min_duration_seconds: i.minDurationSeconds,
        p_max_duration_seconds: i.maxDurationSeconds,
        p_policy: i.policy,
        p_hold_seconds: i.holdSeconds,
        p_concurrency_limit: i.concurrencyLimit,
        p_now: new Date(i.nowMs).toISOString(),
      });
      return parseRpcResult(admitted, 'outbound_call_admit', raw);
    },
    async placed(callId: string, vapiCallId: string, answer: object) {
      return parseRpcResult(placed, 'outbound_call_placed', await rpc.call('outbound_call_placed', { p_call_id: callId, p_vapi_call_id: vapiCallId, p_answer: JSON.stringify(answer) }));
    },
    async failed(callId: string, failure: string, answer: object) {
      return parseRpcResult(failed, 'outbound_call_failed', await rpc.call('outbound_call_failed', { p_call_id: callId, p_failure: failure, p_answer: JSON.stringify(answer) }));
    },
    /** Outbound calls still 'placing' that were admitted before `before` (Vapi's answer lost). */
    async placing(now: Date, before: Date, limit: number): Promise<PlacingCall[]> {
      return parseRpcResult(placing, 'outbound_calls_placing', await rpc.call('outbound_calls_placing', { p_now: now.toISOString(), p_before: before.toISOString(), p_limit: limit })).placing;
    },
    async defer(callId: string, until: Date): Promise<void> {
      await rpc.call('outbound_call_defer', { p_call_id: callId, p_until: until.toISOString() });
    },
    async rates(): Promise<RateRow[]> {
      return parseRpcResult(rates, 'call_rates_get', await rpc.call('call_rates_get', {})).rates;
    },
    async putRates(rows: RateRow[]): Promise<RateRow[]> {
      return parseRpcResult(rates, 'call_rates_put', await rpc.call('call_rates_put', { p_rates: JSON.stringify(rows) })).rates;
    },
    async rateFor(number: string): Promise<RateRow | null> {
      return parseRpcResult(rateRow.nullable(), 'call_rate_match', await rpc.call('call_rate_match', { p_number: number }));
    },
    async dialing(orgId: string): Promise<OrgDialing> {
      return parseRpcResult(dialing, 'org_dialing_get', await rpc.call('org_dialing_get', { p_org_id: orgId }));
    },
    async setDialing(orgId: string, allowedCountries: string[] | null, callsPerSecond: number | null): Promise<OrgDialing> {
      return parseRpcResult(dialing, 'org_dialing_set', await rpc.call('org_dialing_set', { p_org_id: orgId, p_allowed_countries: allowedCountries, p_calls_per_second: callsPerSecond }));
    },
  };
}

export type OutboundStore = ReturnType<typeof createOutboundStore>;
