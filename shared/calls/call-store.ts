// Typed wrappers over the call SQL functions (supabase/migrations/20261123000300_calls.sql).
// Expected outcomes come back as discriminated unions; only an unreachable database throws.
import { z } from 'zod';
import { cachedBalance } from '../cache/cached-balance';
import { parseRpcResult } from '../db/parse-rpc-result';
import { DataUnavailableError, type Rpc } from '../db/rpc';
import type { Config } from '../config';
import { VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS, type CallRate } from '../pricing';
import { LIMIT_NAMES, walletControls } from '../wallet/wallet-controls';

const int = z.number().int();

/** A row of the rate table as SQL gives it (call_rate_match, call_rates_get). */
export const rateRow = z.object({
  prefix: z.string(),
  rate_per_minute: int.positive(),
  connect_fee: int.nonnegative(),
  minimum_seconds: int.nonnegative(),
  increment_seconds: int.positive(),
  blocked: z.boolean(),
});
export type RateRow = z.output<typeof rateRow>;

/** A matched row as a call's rate; null (no row matched) → the default rate. */
export function callRateOf(row: RateRow | null, fallback: CallRate): CallRate {
  if (row === null) return fallback;
  return { prefix: row.prefix, ratePerMinute: row.rate_per_minute, connectFee: row.connect_fee, minimumSeconds: row.minimum_seconds, incrementSeconds: row.increment_seconds };
}

const numberFound = z.object({
  outcome: z.literal('found'),
  org_id: z.string(),
  assistant_id: z.string().nullable(),
  e164: z.string(),
  vapi_phone_number_id: z.string().nullable(),
  /** Issue 24: a past-due or releasing number is found (its reports still bill) but refused calls. */
  status: z.enum(['active', 'past_due', 'releasing']),
  rate: rateRow.nullable(),
});
const numberResolution = z.union([numberFound, z.object({ outcome: z.literal('not_found') })]);
export type NumberResolution = z.output<typeof numberResolution>;

/** A call's hold as both stores keep it (SQL call_hold_json, the Redis entry). */
const holdRow = z.object({
  call_id: z.string(),
  state: z.enum(['held', 'ended']),
  amount: int,
  max_duration_seconds: int,
  expires_at_ms: int,
  admitted_at_ms: int,
  cap: int,
  slices: int,
  // The rate fixed at the call's admission (CONTRACT §10); absent or null: the default rate.
  rate_prefix: z.string().nullable().optional(),
  rate_per_minute: int.positive().nullable().optional(),
  connect_fee: int.nonnegative().nullable().optional(),
  minimum_seconds: int.nonnegative().nullable().optional(),
  increment_seconds: int.positive().nullable().optional(),
});
export type StoredHold = z.output<typeof holdRow>;
/** The hold of a `held` admission, as SQL reports it (call_hold_json). */
export const holdStepHold = holdRow;

/** The fields a hold (or a hold record, an admission) carries its rate in. */
export interface HoldRateFields {
  rate_prefix?: string | null;
  rate_per_minute?: number | null;
  connect_fee?: number | null;
  minimum_seconds?: number | null;
  increment_seconds?: number | null;
}

export function rateFields(rate: CallRate): Required<HoldRateFields> {
  return { rate_prefix: rate.prefix, rate_per_minute: rate.ratePerMinute, connect_fee: rate.connectFee, minimum_seconds: rate.minimumSeconds, increment_seconds: rate.incrementSeconds };
}

/** The rate a hold was admitted at; a hold without one (admitted before rates were kept) has the default. */
export function holdRate(h: HoldRateFields, fallback: CallRate): CallRate {
  if (h.rate_per_minute === null || h.rate_per_minute === undefined) return fallback;
  return {
    prefix: h.rate_prefix ?? null,
    ratePerMinute: h.rate_per_minute,
    connectFee: h.connect_fee ?? 0,
    minimumSeconds: h.minimum_seconds ?? 0,
    incrementSeconds: h.increment_seconds ?? 1,
  };
}
const gateSnapshot = z.union([
  z.object({ outcome: z.literal('found'), ...cachedBalance.shape, controls: walletControls, holds: z.array(holdRow) }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type GateSnapshot = z.output<typeof gateSnapshot>;

/** Why a spend control refused a call (wallet_frozen, or the limit's name as in CONTRACT §8). */
export const controlRefusal = z.enum(['wallet_frozen', 'maxConcurrentCalls', 'dailySpendLimit']);
export type ControlRefusal = z.output<typeof controlRefusal>;

/** One step of admission against a store: what the store says about this call and this org. */
export const holdStep = z.union([
  z.object({ outcome: z.literal('refused'), reason: controlRefusal }),
  z.object({ outcome: z.literal('existing'), hold_amount: int, max_duration_seconds: int, hold_state: z.enum(['held', 'ended', 'released']) }),
  z.object({ outcome: z.literal('available'), available: int }),
  z.object({ outcome: z.literal('held'), hold_amount: int, max_duration_seconds: int, available: int, hold: holdRow }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type HoldStep = z.output<typeof holdStep>;

const renewed = z.union([
  z.object({ outcome: z.enum(['renewed', 'already', 'capped', 'exhausted', 'frozen']), amount: int, held_seconds: int.nullable() }),
  z.object({ outcome: z.literal('limited'), limit: z.enum(LIMIT_NAMES), amount: int, held_seconds: int.nullable() }),
  z.object({ outcome: z.enum(['ended', 'released', 'missing']) }),
]);
export type PostgresRenewal = z.output<typeof renewed>;

const ended = z.union([
  z.object({ outcome: z.enum(['ended', 'already', 'settled']), org_id: z.string(), amount: int }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type PostgresEnd = z.output<typeof ended>;

const meter = z.union([
  z.object({
    outcome: z.literal('found'),
    org_id: z.string(),
    live: z.boolean(),
    hold: holdRow,
    held_seconds: int.nullable(),
    control_url: z.string().nullable(),
    // Vapi's id of an outbound call we placed (its call id is ours); null for an inbound call.
    vapi_call_id: z.string().nullable(),
  }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type CallMeter = z.output<typeof meter>;

const openMeters = z.object({ calls: z.array(z.object({ org_id: z.string(), hold: holdRow, held_seconds: int.nullable() })) });
export type OpenMeter = z.output<typeof openMeters>['calls'][number];

const recorded = z.object({ recorded: int, updated: int, rejected: int, rejected_call_ids: z.array(z.string()) });
export type RecordedHolds = z.output<typeof recorded>;

const release = z.union([
  z.object({ outcome: z.enum(['released', 'already_released']), org_id: z.string() }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type ReleaseResult = z.output<typeof release>;

const reportRecorded = z.object({ outcome: z.enum(['recorded', 'duplicate']), org_id: z.string().nullable(), billed: z.boolean() });
export type ReportRecorded = z.output<typeof reportRecorded>;


// Times stay the text Postgres wrote: a cursor rebuilt from a JS Date (milliseconds) would cut a
// timestamptz's microseconds and repeat or skip rows at a page boundary.
const callDueForSweep = z.object({
  call_id: z.string(),
  org_id: z.string(),
  hold_expires_at: z.string(),
  sweep_deferrals: int.nonnegative(),
  /** Vapi's id of an outbound call (ours is call_id); null for an inbound call, whose id is Vapi's. */
  vapi_call_id: z.string().nullable().optional(),
});
export type CallDueForSweep = z.output<typeof callDueForSweep>;
const callsDueForSweep = z.object({ missing: z.array(callDueForSweep) });
const reportDueForSweep = z.object({ call_id: z.string(), received_at: z.string() });
export type ReportDueForSweep = z.output<typeof reportDueForSweep>;
const reportsDueForSweep = z.object({ unbilled: z.array(reportDueForSweep) });
const sweepDefer = z.object({ outcome: z.enum(['deferred', 'unchanged']) });
const callsSettled = z.object({ settled: z.array(z.string()) });
const hotReleased = z.object({ outcome: z.enum(['stamped', 'unchanged']) });
const settledHold = z.object({ call_id: z.string(), org_id: z.string(), hold_expires_at: z.string() });
export type SettledHold = z.output<typeof settledHold>;
const settledHolds = z.object({ settled: z.array(settledHold) });

/** The last row of the previous page of a sweep work list: its time (as returned) and call id. */
export interface SweepCursor {
  at: string;
  callId: string;
}

export const implausibleReason = z.enum(['missing', 'negative', 'beyond_bound']);
export type ImplausibleReason = z.output<typeof implausibleReason>;
const settlement = z.union([
  z.object({
    outcome: z.literal('charged'),
    org_id: z.string(),
    amount: int.nonnegative(),
    billed_ms: z.number().nonnegative(),
    seconds_basis: z.enum(['report', 'admission_to_report_ended', 'admission_to_ended', 'admission_to_received', 'none']),
    implausible: z.boolean(),
    implausible_reason: implausibleReason.nullable(),
    entry_id: int.positive(),
    replayed: z.boolean(),
    beyond_debt_limit: z.boolean(),
    balance_after: int,
    ...cachedBalance.shape,
  }),
  z.object({ outcome: z.literal('already_billed'), org_id: z.string(), entry_id: int.positive(), amount: int.nonnegative(), replayed: z.literal(true), ...cachedBalance.shape }),
  z.object({ outcome: z.literal('no_wallet'), org_id: z.string() }),
  z.object({ outcome: z.enum(['no_report', 'unattributed']) }),
]);
export type Settlement = z.output<typeof settlement>;

/** What call_settle needs besides the call id: Config.pricing's rate and the gate's grace. */
export interface SettleInput {
  callId: string;
  ratePerMinute: number;
  holdGraceSeconds: number;
  settledBy: 'report' | 'sweeper';
}


export interface ReportInput {
  callId: string;
  orgId: string | null;
  vapiPhoneNumberId: string | null;
  e164: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  endedReason: string | null;
  source: 'webhook' | 'vapi_api';
  /** Who called whom (the calls list, CONTRACT §12); the called number defaults to e164. */
  fromNumber?: string | null;
  toNumber?: string | null;
}

/** Config.pricing and the gate settings an admission plans with (call_gate_admit and its batch). */
export interface AdmitTerms {
  ratePerMinute: number;
  minBalance: number;
  safetyMarginSeconds: number;
  holdGraceSeconds: number;
  minDurationSeconds: number;
  maxDurationSeconds: number;
  policy: 'metered' | 'full';
  holdSeconds: number;
}

/**
 * The terms every admission plans with, from one place: the prices from Config.pricing, the
 * gate's settings, Vapi's duration bounds from pricing.ts (inbound on either store, outbound).
 */
export function admitTermsOf(config: Pick<Config, 'pricing' | 'callGate'>): AdmitTerms {
  const { pricing, callGate } = config;
  return {
    ratePerMinute: pricing.callRatePerMinute,
    minBalance: pricing.callMinBalance,
    safetyMarginSeconds: callGate.safetyMarginSeconds,
    holdGraceSeconds: callGate.holdGraceSeconds,
    minDurationSeconds: VAPI_MIN_DURATION_SECONDS,
    maxDurationSeconds: VAPI_MAX_DURATION_SECONDS,
    policy: callGate.holdPolicy,
    holdSeconds: callGate.holdSeconds,
  };
}

/** One call to admit: whose, which, and when (the decision's clock). */
export interface AdmitCall {
  orgId: string;
  callId: string;
  /** The call's rate (CONTRACT §10); absent: AdmitTerms.ratePerMinute, no fee, increments of 1 s. */
  rate?: CallRate;
  /** The decision's clock (ms): the UTC day of the daily spend, hold expiry and admission time; default Postgres's now(). */
  nowMs?: number;
}

export type AdmitInput = AdmitTerms & AdmitCall;

/** What the batch says of one element: its own call_gate_admit answer, or the error it raised alone. */
export type BatchAdmission = HoldStep | { outcome: 'error'; message: string };
const batchAdmission = z.union([holdStep, z.object({ outcome: z.literal('error'), message: z.string() })]);

/** A hold the Redis path placed or renewed, to be recorded in Postgres (call_gate_record_holds). */
export interface HoldRecord extends HoldRateFields {
  call_id: string;
  org_id: string;
  amount: number;
  max_duration_seconds: number;
  expires_at_ms: number;
  admitted_at_ms: number;
  cap: number;
  held_seconds: number;
  slices: number;
  policy: 'metered' | 'full';
  ended_at_ms?: number;
}

/** The record of a hold from what a store reports of it. */
export function holdRecord(orgId: string, h: StoredHold, policy: 'metered' | 'full', heldSeconds: number): HoldRecord {
  return {
    call_id: h.call_id,
    org_id: orgId,
    amount: h.amount,
    max_duration_seconds: h.max_duration_seconds,
    expires_at_ms: h.expires_at_ms,
    admitted_at_ms: h.admitted_at_ms,
    cap: h.cap,
    held_seconds: heldSeconds,
    slices: h.slices,
    policy,
    rate_prefix: h.rate_prefix ?? null,
    rate_per_minute: h.rate_per_minute ?? null,
    connect_fee: h.connect_fee ?? null,
    minimum_seconds: h.minimum_seconds ?? null,
    increment_seconds: h.increment_seconds ?? null,
  };
}

export function createCallStore(rpc: Rpc) {
  /**
   * Several admissions in one transaction (call_gate_admit_batch, at most 64): each decided by
   * call_gate_admit in organisation order, each answer in input order. An element that raised
   * comes back as outcome 'error' and failed alone; only an unreachable database throws.
   */
  async function admitMany(t: AdmitTerms, calls: readonly AdmitCall[]): Promise<BatchAdmission[]> {
    const raw = await rpc.call('call_gate_admit_batch', {
      p_calls: JSON.stringify(
        calls.map((c) => ({ org_id: c.orgId, call_id: c.callId, now: c.nowMs === undefined ? null : new Date(c.nowMs).toISOString(), ...(c.rate === undefined ? {} : rateFields(c.rate)) })),
      ),
      p_rate_per_minute: t.ratePerMinute,
      p_min_balance: t.minBalance,
      p_safety_margin_seconds: t.safetyMarginSeconds,
      p_hold_grace_seconds: t.holdGraceSeconds,
      p_min_duration_seconds: t.minDurationSeconds,
      p_max_duration_seconds: t.maxDurationSeconds,
      p_policy: t.policy,
      p_hold_seconds: t.holdSeconds,
    });
    if (!Array.isArray(raw) || raw.length !== calls.length) throw new Error(`invariant violated: call_gate_admit_batch returned an unexpected shape: ${JSON.stringify(raw)}`);
    return raw.map((r: unknown) => parseRpcResult(batchAdmission, 'call_gate_admit_batch', r));
  }

  return {
    async resolveNumber(vapiPhoneNumberId: string | null, e164: string | null): Promise<NumberResolution> {
      const raw = await rpc.call('phone_number_resolve', { p_vapi_phone_number_id: vapiPhoneNumberId, p_e164: e164 });
      return parseRpcResult(numberResolution, 'phone_number_resolve', raw);
    },
    async gateSnapshot(orgId: string): Promise<GateSnapshot> {
      return parseRpcResult(gateSnapshot, 'call_gate_snapshot', await rpc.call('call_gate_snapshot', { p_org_id: orgId }));
    },
    admitMany,
    /**
     * One admission (probe, plan and hold under the wallet row lock): a batch of one, so there is
     * one way into call_gate_admit. An element that raised throws, as the database's error would.
     */
    async admit(a: AdmitInput): Promise<HoldStep> {
      const { orgId, callId, nowMs, rate, ...terms } = a;
      const [r] = await admitMany(terms, [{ orgId, callId, nowMs, rate }]);
      if (r === undefined || r.outcome === 'error') throw new DataUnavailableError(`call_gate_admit failed: ${r?.outcome === 'error' ? r.message : 'no answer'}`);
      return r;
    },
    /** Records a batch of Redis-path holds in one call; each is written or rejected on its own. */
    async recordHolds(holds: HoldRecord[]): Promise<RecordedHolds> {
      const raw = await rpc.call('call_gate_record_holds', { p_holds: JSON.stringify(holds) });
      return parseRpcResult(recorded, 'call_gate_record_holds', raw);
    },
    /** Takes back the hold of a call the gate refused after Postgres had placed it. */
    async cancelHold(callId: string): Promise<void> {
      await rpc.call('call_gate_cancel_hold', { p_call_id: callId });
    },
    /** The Postgres side of a renewal (Redis unavailable). */
    async renew(callId: string, sliceNo: number, sliceAmount: number, ratePerMinute: number, nowMs: number, sliceSeconds?: number): Promise<PostgresRenewal> {
      const raw = await rpc.call('call_meter_renew', {
        p_call_id: callId,
        p_slice_no: sliceNo,
        p_slice_amount: sliceAmount,
        p_rate_per_minute: ratePerMinute,
        p_now: new Date(nowMs).toISOString(),
        p_slice_seconds: sliceSeconds ?? null,
      });
      return parseRpcResult(renewed, 'call_meter_renew', raw);
    },
    /** The "ended" resize in Postgres; `hold` (Redis's view) creates the row when Postgres has none yet. */
    async endHold(callId: string, ratePerMinute: number, graceSeconds: number, hold: HoldRecord | null): Promise<PostgresEnd> {
      const raw = await rpc.call('call_hold_end', { p_call_id: callId, p_rate_per_minute: ratePerMinute, p_grace_seconds: graceSeconds, p_hold: hold === null ? null : JSON.stringify(hold) });
      return parseRpcResult(ended, 'call_hold_end', raw);
    },
    async setControlUrl(callId: string, url: string): Promise<void> {
      await rpc.call('call_control_url_set', { p_call_id: callId, p_url: url });
    },
    async meter(callId: string): Promise<CallMeter> {
      return parseRpcResult(meter, 'call_meter_get', await rpc.call('call_meter_get', { p_call_id: callId }));
    },
    async openMeters(afterCallId: string | null, limit: number): Promise<OpenMeter[]> {
      return parseRpcResult(openMeters, 'calls_open_meters', await rpc.call('calls_open_meters', { p_after_call_id: afterCallId, p_limit: limit })).calls;
    },
    /** The organisation's calls in progress (admitted, neither ended nor settled), oldest first. */
    async liveCalls(orgId: string): Promise<StoredHold[]> {
      return parseRpcResult(z.object({ calls: z.array(holdRow) }), 'calls_live_for_org', await rpc.call('calls_live_for_org', { p_org_id: orgId })).calls;
    },
    async releaseHold(callId: string, cause: string): Promise<ReleaseResult> {
      return parseRpcResult(release, 'call_hold_release', await rpc.call('call_hold_release', { p_call_id: callId, p_cause: cause }));
    },
    async holdsTotal(orgId: string): Promise<number> {
      return parseRpcResult(z.object({ held: int }), 'call_holds_total', await rpc.call('call_holds_total', { p_org_id: orgId })).held;
    },
    async recordReport(r: ReportInput): Promise<ReportRecorded> {
      const raw = await rpc.call('call_report_record', {
        p_call_id: r.callId,
        p_org_id: r.orgId,
        p_vapi_phone_number_id: r.vapiPhoneNumberId,
        p_e164: r.e164,
        p_started_at: r.startedAt,
        p_ended_at: r.endedAt,
        p_duration_seconds: r.durationSeconds,
        p_ended_reason: r.endedReason,
        p_source: r.source,
        p_from_number: r.fromNumber ?? null,
        p_to_number: r.toNumber ?? null,
      });
      return parseRpcResult(reportRecorded, 'call_report_record', raw);
    },
    /** Charges the call from its report and ends its hold, in one transaction (call_settle). */
    async settle(s: SettleInput): Promise<Settlement> {
      const raw = await rpc.call('call_settle', {
        p_call_id: s.callId,
        p_rate_per_minute: s.ratePerMinute,
        p_grace_seconds: s.holdGraceSeconds,
        p_settled_by: s.settledBy,
      });
      return parseRpcResult(settlement, 'call_settle', raw);
    },
    async settleNotFound(callId: string): Promise<void> {
      await rpc.call('call_settle_not_found', { p_call_id: callId });
    },
    /** One page of calls without a report to settle from Vapi, after `after` (null: the first page). */
    async callsDueForSweep(now: Date, graceSeconds: number, limit: number, after: SweepCursor | null): Promise<CallDueForSweep[]> {
      const raw = await rpc.call('calls_due_for_sweep', {
        p_now: now.toISOString(),
        p_grace_seconds: graceSeconds,
        p_limit: limit,
        p_after_expires_at: after?.at ?? null,
        p_after_call_id: after?.callId ?? null,
      });
      return parseRpcResult(callsDueForSweep, 'calls_due_for_sweep', raw).missing;
    },
    /** One page of recorded but unbilled reports, after `after` (null: the first page). */
    async reportsDueForSweep(now: Date, graceSeconds: number, limit: number, after: SweepCursor | null): Promise<ReportDueForSweep[]> {
      const raw = await rpc.call('call_reports_due_for_sweep', {
        p_now: now.toISOString(),
        p_grace_seconds: graceSeconds,
        p_limit: limit,
        p_after_received_at: after?.at ?? null,
        p_after_call_id: after?.callId ?? null,
      });
      return parseRpcResult(reportsDueForSweep, 'call_reports_due_for_sweep', raw).unbilled;
    },
    /** Which of these calls are settled in Postgres (the row settled, or the report billed): calls_settled. */
    async settledAmong(callIds: readonly string[]): Promise<Set<string>> {
      return new Set(parseRpcResult(callsSettled, 'calls_settled', await rpc.call('calls_settled', { p_call_ids: callIds })).settled);
    },
    /** Redis was seen with this settled call's entry no longer counting: off the sweeper's list. */
    async hotReleased(callId: string): Promise<'stamped' | 'unchanged'> {
      return parseRpcResult(hotReleased, 'call_hot_released', await rpc.call('call_hot_released', { p_call_id: callId })).outcome;
    },
    /** One page of settled calls whose Redis hold may still count, after `after` (null: the first page). */
    async callsDueForHotRelease(now: Date, limit: number, after: SweepCursor | null): Promise<SettledHold[]> {
      const raw = await rpc.call('calls_due_for_hot_release', {
        p_now: now.toISOString(),
        p_limit: limit,
        p_after_expires_at: after?.at ?? null,
        p_after_call_id: after?.callId ?? null,
      });
      return parseRpcResult(settledHolds, 'calls_due_for_hot_release', raw).settled;
    },
    /** Keeps the call out of the sweeper's list until `until`. */
    async deferSweep(callId: string, until: Date): Promise<'deferred' | 'unchanged'> {
      return parseRpcResult(sweepDefer, 'call_sweep_defer', await rpc.call('call_sweep_defer', { p_call_id: callId, p_until: until.toISOString() })).outcome;
    },
  };
}

export type CallStore = ReturnType<typeof createCallStore>;
