// Typed wrappers over the provisioning SQL functions (supabase/migrations/*_provisioning.sql).
// The SQL decides every transition; expected outcomes come back as discriminated unions.
import { z } from 'zod';
import type { Rpc } from '../db/rpc';

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

const walletAfter = { balance: money, version: z.number().int().nonnegative(), currency: z.string() };
const replayed = z.boolean().default(false);
const notFound = z.object({ outcome: z.literal('not_found') });
const withRequest = <T extends string>(outcome: T) => z.object({ outcome: z.literal(outcome), request: requestRaw });

const createResult = z.union([
  z.object({ outcome: z.literal('queued'), request: requestRaw, replayed, ...walletAfter }),
  z.object({
    outcome: z.literal('insufficient_funds'),
    currency: z.string(),
    balance: money,
    required: money,
    shortfall: money,
    replayed,
  }),
  notFound,
  z.object({ outcome: z.literal('idempotency_key_reused') }),
  // A frozen wallet buys no number (CONTRACT §8); not recorded under the key.
  z.object({ outcome: z.literal('wallet_frozen') }),
]);
export type CreateResult = z.output<typeof createResult>;

const startResult = z.union([withRequest('started'), withRequest('final'), notFound]);
const noteResult = z.union([withRequest('noted'), withRequest('final'), notFound]);
const retryingResult = z.union([withRequest('retrying'), withRequest('unchanged'), notFound]);
const completeResult = z.union([withRequest('completed').extend({ replayed }), withRequest('final'), notFound]);
const failedResult = z.union([withRequest('failed').extend({ replayed }), withRequest('final'), notFound]);
const refundResult = z.union([
  withRequest('refunded').extend({ replayed, ...walletAfter }),
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
    }),
  ),
  stuck: z.number().int(),
});
export type SweepCandidates = z.output<typeof sweepCandidates>;

function parse<S extends z.ZodTypeAny>(schema: S, fn: string, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  // A shape we did not expect from our own SQL is a programmer error: crash loudly.
  if (!r.success) throw new Error(`invariant violated: ${fn} returned an unexpected shape: ${JSON.stringify(value)}`);
  return r.data;
}

export interface CreateInput {
  orgId: string;
  price: number;
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
    parse(schema, fn, await rpc.call(fn, args));
  return {
    create: (i: CreateInput) =>
      call('provision_request_create', createResult, {
        p_org_id: i.orgId,
        p_price: i.price,
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
    sweepCandidates: (limit: number, stuckAfterSeconds: number) =>
      call('provision_sweep_candidates', sweepCandidates, { p_limit: limit, p_stuck_after_seconds: stuckAfterSeconds }),
  };
}
export type ProvisioningStore = ReturnType<typeof createProvisioningStore>;
