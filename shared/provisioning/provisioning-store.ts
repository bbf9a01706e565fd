// Typed wrappers over the provisioning SQL functions (supabase/migrations/*_provisioning.sql).
// The SQL decides every transition; expected outcomes come back as discriminated unions.
import { z } from 'zod';
import { cachedBalance } from '../cache/cached-balance';
import { parseRpcResult } from '../db/parse-rpc-result';
import type { Rpc } from '../db/rpc';
import { spendRefusal } from '../wallet/wallet-controls';

export const PROVISIONING_STATUSES = ['queued', 'provisioning', 'retrying', 'completed', 'failed', 'refunded'] as const;
export type ProvisioningStatus = (typeof PROVISIONING_STATUSES)[number];

const money = z.number().int();

const requestRaw = z
  .object({
    id: z.string(),
    org_id: z.string(),
    area_code: z.string(),
    country: z.string(),
    assistant_id: z.string().nullable(),
    status: z.enum(PROVISIONING_STATUSES),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    phone_number: z.string().nullable(),
    twilio_sid: z.string().nullable(),
    vapi_phone_number_id: z.string().nullable(),
    purchase_attempted: z.boolean(),
    vapi_import_attempted: z.boolean(),
    error: z.string().nullable(),
    charged: money,
    refunded: money,
    currency: z.string(),
    debit_entry_id: z.number().int(),
    refund_entry_id: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .transform((r) => ({
    id: r.id,
    orgId: r.org_id,
    areaCode: r.area_code,
    country: r.country,
    assistantId: r.assistant_id,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    phoneNumber: r.phone_number,
    twilioSid: r.twilio_sid,
    vapiPhoneNumberId: r.vapi_phone_number_id,
    purchaseAttempted: r.purchase_attempted,
    vapiImportAttempted: r.vapi_import_attempted,
    error: r.error,
    charged: r.charged,
    refunded: r.refunded,
    currency: r.currency,
    debitEntryId: r.debit_entry_id,
    refundEntryId: r.refund_entry_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
export type ProvisioningRequest = z.output<typeof requestRaw>;

const replayed = z.boolean().default(false);
const notFound = z.object({ outcome: z.literal('not_found') });
const withRequest = <T extends string>(outcome: T) => z.object({ outcome: z.literal(outcome), request: requestRaw });

const createResult = z.union([
  z.object({ outcome: z.literal('queued'), request: requestRaw, replayed, ...cachedBalance.shape }),
  z.object({
    outcome: z.literal('insufficient_funds'),
    currency: z.string(),
    balance: money,
    required: money,
    shortfall: money,
    replayed,
  }),
  z.object({ outcome: z.literal('currency_not_priced'), currency: z.string(), priced_currencies: z.array(z.string()), replayed }),
  spendRefusal,
  notFound,
  z.object({ outcome: z.literal('idempotency_key_reused') }),
]);
export type CreateResult = z.output<typeof createResult>;

const startResult = z.union([withRequest('started'), withRequest('final'), notFound]);
const noteResult = z.union([withRequest('noted'), withRequest('final'), notFound]);
const retryingResult = z.union([withRequest('retrying'), withRequest('unchanged'), notFound]);
const completeResult = z.union([withRequest('completed').extend({ replayed }), withRequest('final'), notFound]);
const failedResult = z.union([withRequest('failed').extend({ replayed }), withRequest('final'), notFound]);
const refundResult = z.union([
  withRequest('refunded').extend({ replayed, ...cachedBalance.shape }),
  withRequest('not_refundable'),
  notFound,
]);
export type RefundRequestResult = z.output<typeof refundResult>;
const getResult = z.union([withRequest('found'), notFound]);

const sweepCandidates = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      status: z.enum(PROVISIONING_STATUSES),
      attempts: z.number().int(),
      max_attempts: z.number().int(),
      updated_at: z.string(),
      sweep_due_at: z.string(),
      sweep_deferrals: z.number().int().nonnegative(),
    }),
  ),
  stuck: z.number().int(),
});
export type SweepCandidates = z.output<typeof sweepCandidates>;
export type SweepCandidate = SweepCandidates['items'][number];
/** Where the next page of sweep candidates starts: the last row's due time (as returned) and id. */
export interface SweepCursor {
  dueAt: string;
  id: string;
}
const deferResult = z.object({ outcome: z.enum(['deferred', 'unchanged']) });
const reconcileLookup = z.object({
  requests: z.array(
    z.object({ id: z.string(), status: z.enum(PROVISIONING_STATUSES), twilio_sid: z.string().nullable(), vapi_phone_number_id: z.string().nullable() }),
  ),
});
export type RequestOwnership = z.output<typeof reconcileLookup>['requests'][number];
/** The most ids one reconcile lookup takes (the SQL function refuses more). */
export const RECONCILE_LOOKUP_MAX = 1000;


export interface CreateInput {
  orgId: string;
  /** Price per currency in minor units (shared/pricing.ts); the wallet's currency picks one. */
  prices: Record<string, number>;
  idempotencyKey: string;
  fingerprint: string;
  areaCode: string;
  country: string;
  assistantId: string | undefined;
  maxAttempts: number;
}

export type PurchaseStep = { step: 'purchase' } | { step: 'vapi_import' } | { step: 'purchased'; phoneNumber: string; twilioSid: string };

export function createProvisioningStore(rpc: Rpc) {
  const call = async <S extends z.ZodTypeAny>(fn: string, schema: S, args: Parameters<Rpc['call']>[1]) =>
    parseRpcResult(schema, fn, await rpc.call(fn, args));
  return {
    create: (i: CreateInput) =>
      call('provision_request_create', createResult, {
        p_org_id: i.orgId,
        p_prices: i.prices,
        p_idempotency_key: i.idempotencyKey,
        p_fingerprint: i.fingerprint,
        p_area_code: i.areaCode,
        p_country: i.country,
        p_assistant_id: i.assistantId ?? null,
        p_max_attempts: i.maxAttempts,
      }),
    startAttempt: (requestId: string) => call('provision_request_start_attempt', startResult, { p_request_id: requestId }),
    noteStep: (requestId: string, s: PurchaseStep) =>
      call('provision_request_note_step', noteResult, {
        p_request_id: requestId,
        p_step: s.step,
        p_phone_number: s.step === 'purchased' ? s.phoneNumber : null,
        p_twilio_sid: s.step === 'purchased' ? s.twilioSid : null,
      }),
    noteImport: (requestId: string, vapiPhoneNumberId: string) =>
      call('provision_request_note_import', noteResult, { p_request_id: requestId, p_vapi_phone_number_id: vapiPhoneNumberId }),
    markRetrying: (requestId: string, error: string) =>
      call('provision_request_mark_retrying', retryingResult, { p_request_id: requestId, p_error: error }),
    complete: (requestId: string, n: { phoneNumber: string; twilioSid: string; vapiPhoneNumberId: string }) =>
      call('provision_request_complete', completeResult, {
        p_request_id: requestId,
        p_phone_number: n.phoneNumber,
        p_twilio_sid: n.twilioSid,
        p_vapi_phone_number_id: n.vapiPhoneNumberId,
      }),
    markFailed: (requestId: string, error: string) =>
      call('provision_request_mark_failed', failedResult, { p_request_id: requestId, p_error: error }),
    refund: (requestId: string) => call('provision_request_refund', refundResult, { p_request_id: requestId }),
    get: (orgId: string, requestId: string) => call('provision_request_get', getResult, { p_org_id: orgId, p_request_id: requestId }),
    load: (requestId: string) => call('provision_request_load', getResult, { p_request_id: requestId }),
    sweepCandidates: (now: Date, limit: number, stuckAfterSeconds: number, after: SweepCursor | null = null) =>
      call('provision_sweep_candidates', sweepCandidates, {
        p_now: now.toISOString(),
        p_limit: limit,
        p_stuck_after_seconds: stuckAfterSeconds,
        p_after_due_at: after?.dueAt ?? null,
        p_after_id: after?.id ?? null,
      }),
    deferSweep: (requestId: string, until: Date) =>
      call('provision_sweep_defer', deferResult, { p_request_id: requestId, p_until: until.toISOString() }),
    /** Ownership of the requests named by numbers; ids that are not our requests are left out. */
    reconcileLookup: (requestIds: string[]) => call('provision_reconcile_lookup', reconcileLookup, { p_request_ids: requestIds }),
  };
}
export type ProvisioningStore = ReturnType<typeof createProvisioningStore>;
