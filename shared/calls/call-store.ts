// Typed wrappers over the call SQL functions (supabase/migrations/20261123000300_calls.sql).
// Expected outcomes come back as discriminated unions; only an unreachable database throws.
import { z } from 'zod';
import type { Rpc } from '../db/rpc';

const int = z.number().int();

const numberFound = z.object({
  outcome: z.literal('found'),
  org_id: z.string(),
  assistant_id: z.string().nullable(),
  e164: z.string(),
  vapi_phone_number_id: z.string().nullable(),
});
const numberResolution = z.union([numberFound, z.object({ outcome: z.literal('not_found') })]);
export type NumberResolution = z.output<typeof numberResolution>;

const holdRow = z.object({ call_id: z.string(), amount: int, max_duration_seconds: int, expires_at_ms: int });
export type StoredHold = z.output<typeof holdRow>;
const gateSnapshot = z.union([
  z.object({ outcome: z.literal('found'), balance: int, version: int, currency: z.string(), holds: z.array(holdRow) }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type GateSnapshot = z.output<typeof gateSnapshot>;

/** One step of admission against a store: what the store says about this call and this org. */
export const holdStep = z.union([
  z.object({ outcome: z.literal('existing'), hold_amount: int, max_duration_seconds: int, hold_state: z.enum(['held', 'released']) }),
  z.object({ outcome: z.literal('available'), available: int }),
  z.object({ outcome: z.literal('held'), hold_amount: int, max_duration_seconds: int, available: int }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type HoldStep = z.output<typeof holdStep>;

const release = z.union([
  z.object({ outcome: z.enum(['released', 'already_released']), org_id: z.string() }),
  z.object({ outcome: z.literal('not_found') }),
]);
export type ReleaseResult = z.output<typeof release>;

const reportRecorded = z.object({ outcome: z.enum(['recorded', 'duplicate']), org_id: z.string().nullable(), billed: z.boolean() });
export type ReportRecorded = z.output<typeof reportRecorded>;

const reportFound = z.object({
  outcome: z.literal('found'),
  call_id: z.string(),
  org_id: z.string().nullable(),
  started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  source: z.enum(['webhook', 'vapi_api']),
  billed: z.boolean(),
});
const reportGet = z.union([reportFound, z.object({ outcome: z.literal('not_found') })]);
export type StoredReport = z.output<typeof reportFound>;

// Times stay the text Postgres wrote: a cursor rebuilt from a JS Date (milliseconds) would cut a
// timestamptz's microseconds and repeat or skip rows at a page boundary.
const callDueForSweep = z.object({ call_id: z.string(), org_id: z.string(), hold_expires_at: z.string(), sweep_deferrals: int.nonnegative() });
export type CallDueForSweep = z.output<typeof callDueForSweep>;
const callsDueForSweep = z.object({ missing: z.array(callDueForSweep) });
const reportDueForSweep = z.object({ call_id: z.string(), received_at: z.string() });
export type ReportDueForSweep = z.output<typeof reportDueForSweep>;
const reportsDueForSweep = z.object({ unbilled: z.array(reportDueForSweep) });
const sweepDefer = z.object({ outcome: z.enum(['deferred', 'unchanged']) });

/** The last row of the previous page of a sweep work list: its time (as returned) and call id. */
export interface SweepCursor {
  at: string;
  callId: string;
}

const walletNow = { balance: int, version: int.nonnegative(), currency: z.string() };
export const implausibleReason = z.enum(['missing', 'negative', 'beyond_bound']);
export type ImplausibleReason = z.output<typeof implausibleReason>;
const settlement = z.union([
  z.object({
    outcome: z.literal('charged'),
    org_id: z.string(),
    amount: int.nonnegative(),
    billed_ms: z.number().nonnegative(),
    seconds_basis: z.enum(['report', 'admission_to_ended', 'admission_to_received', 'none']),
    implausible: z.boolean(),
    implausible_reason: implausibleReason.nullable(),
    entry_id: int.positive(),
    replayed: z.boolean(),
    beyond_debt_limit: z.boolean(),
    balance_after: int,
    ...walletNow,
  }),
  z.object({ outcome: z.literal('already_billed'), org_id: z.string(), entry_id: int.positive(), amount: int.nonnegative(), replayed: z.literal(true), ...walletNow }),
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
}

/** Config.pricing and the gate settings the one-call admission plans with (call_gate_admit). */
export interface AdmitInput {
  orgId: string;
  callId: string;
  ratePerMinute: number;
  minBalance: number;
  safetyMarginSeconds: number;
  holdGraceSeconds: number;
  minDurationSeconds: number;
  maxDurationSeconds: number;
}

/** A hold the Redis path placed, to be recorded in Postgres (call_gate_record_holds). */
export interface HoldRecord {
  call_id: string;
  org_id: string;
  amount: number;
  max_duration_seconds: number;
  expires_at_ms: number;
}

function parse<S extends z.ZodTypeAny>(schema: S, fn: string, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  // A shape we did not expect from our own SQL is a programmer error: crash loudly.
  if (!r.success) throw new Error(`invariant violated: ${fn} returned an unexpected shape: ${JSON.stringify(value)}`);
  return r.data;
}

export function createCallStore(rpc: Rpc) {
  return {
    async resolveNumber(vapiPhoneNumberId: string | null, e164: string | null): Promise<NumberResolution> {
      const raw = await rpc.call('phone_number_resolve', { p_vapi_phone_number_id: vapiPhoneNumberId, p_e164: e164 });
      return parse(numberResolution, 'phone_number_resolve', raw);
    },
    async gateSnapshot(orgId: string): Promise<GateSnapshot> {
      return parse(gateSnapshot, 'call_gate_snapshot', await rpc.call('call_gate_snapshot', { p_org_id: orgId }));
    },
    /** Probe, plan and hold in one call under the wallet row lock (the fallback path). */
    async admit(a: AdmitInput): Promise<HoldStep> {
      const raw = await rpc.call('call_gate_admit', {
        p_org_id: a.orgId,
        p_call_id: a.callId,
        p_rate_per_minute: a.ratePerMinute,
        p_min_balance: a.minBalance,
        p_safety_margin_seconds: a.safetyMarginSeconds,
        p_hold_grace_seconds: a.holdGraceSeconds,
        p_min_duration_seconds: a.minDurationSeconds,
        p_max_duration_seconds: a.maxDurationSeconds,
      });
      return parse(holdStep, 'call_gate_admit', raw);
    },
    /** Records a batch of Redis-path holds in one statement; returns how many rows were new. */
    async recordHolds(holds: HoldRecord[]): Promise<number> {
      const raw = await rpc.call('call_gate_record_holds', { p_holds: JSON.stringify(holds) });
      return parse(z.object({ recorded: int }), 'call_gate_record_holds', raw).recorded;
    },
    async releaseHold(callId: string, cause: string): Promise<ReleaseResult> {
      return parse(release, 'call_hold_release', await rpc.call('call_hold_release', { p_call_id: callId, p_cause: cause }));
    },
    async holdsTotal(orgId: string): Promise<number> {
      return parse(z.object({ held: int }), 'call_holds_total', await rpc.call('call_holds_total', { p_org_id: orgId })).held;
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
      });
      return parse(reportRecorded, 'call_report_record', raw);
    },
    async getReport(callId: string): Promise<StoredReport | undefined> {
      const r = parse(reportGet, 'call_report_get', await rpc.call('call_report_get', { p_call_id: callId }));
      return r.outcome === 'found' ? r : undefined;
    },
    /** Charges the call from its report and ends its hold, in one transaction (call_settle). */
    async settle(s: SettleInput): Promise<Settlement> {
      const raw = await rpc.call('call_settle', {
        p_call_id: s.callId,
        p_rate_per_minute: s.ratePerMinute,
        p_grace_seconds: s.holdGraceSeconds,
        p_settled_by: s.settledBy,
      });
      return parse(settlement, 'call_settle', raw);
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
      return parse(callsDueForSweep, 'calls_due_for_sweep', raw).missing;
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
      return parse(reportsDueForSweep, 'call_reports_due_for_sweep', raw).unbilled;
    },
    /** Keeps the call out of the sweeper's list until `until`. */
    async deferSweep(callId: string, until: Date): Promise<'deferred' | 'unchanged'> {
      return parse(sweepDefer, 'call_sweep_defer', await rpc.call('call_sweep_defer', { p_call_id: callId, p_until: until.toISOString() })).outcome;
    },
  };
}

export type CallStore = ReturnType<typeof createCallStore>;
