// Typed wrappers over the money SQL functions. Expected outcomes (insufficient funds, replay,
// unknown org) come back as discriminated unions; only an unreachable database throws.
import { z } from 'zod';
import { cachedBalance } from '../cache/cached-balance';
import { parseRpcResult } from '../db/parse-rpc-result';
import type { Rpc } from '../db/rpc';
import { spendRefusal, walletControls } from '../wallet/wallet-controls';

const money = z.number().int();

const postedRaw = z.object({
  entry_id: z.number().int().positive(),
  amount: money,
  balance_before: money,
  balance_after: money,
  created_at: z.string(),
  replayed: z.boolean().default(false),
  ...cachedBalance.shape,
});

function toPosted(r: z.output<typeof postedRaw>) {
  return {
    entryId: r.entry_id,
    amount: r.amount,
    balanceBefore: r.balance_before,
    balanceAfter: r.balance_after,
    createdAt: r.created_at,
    /** True when this is the first outcome of the same key returned again. */
    replayed: r.replayed,
    /** The wallet as it is now, for the cache (after a replay it may differ from balanceAfter). */
    wallet: { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls },
  };
}
export type PostedEntry = ReturnType<typeof toPosted>;

const postedAs = <T extends string>(outcome: T) =>
  postedRaw.extend({ outcome: z.literal(outcome) }).transform((r) => ({ outcome, ...toPosted(r) }));

const notFound = z.object({ outcome: z.literal('not_found') });
const keyReused = z.object({ outcome: z.literal('idempotency_key_reused') });
const keyConflict = z.object({ outcome: z.literal('key_conflict'), entry_id: z.number().int() });

export const insufficientFunds = z.object({
  outcome: z.literal('insufficient_funds'),
  currency: z.string(),
  balance: money,
  required: money,
  shortfall: money,
  version: z.number().int(),
});
export type InsufficientFunds = z.output<typeof insufficientFunds>;

const creditResult = z.union([postedAs('credited'), notFound, keyReused]);
const debitResult = z.union([postedAs('debited'), insufficientFunds, spendRefusal, notFound, keyConflict]);
const refundResult = z.union([postedAs('refunded'), notFound, z.object({ outcome: z.literal('not_refundable'), kind: z.string() })]);
const chargeResult = z.union([
  postedRaw
    .extend({ outcome: z.literal('charged'), beyond_debt_limit: z.boolean() })
    .transform((r) => ({ outcome: r.outcome, ...toPosted(r), beyondDebtLimit: r.beyond_debt_limit })),
  notFound,
  keyConflict,
]);

export const walletSnapshot = z
  .object({
    outcome: z.literal('found'),
    org_id: z.string(),
    currency: z.string(),
    balance: money,
    debt_limit: money,
    version: z.number().int(),
    updated_at: z.string(),
    frozen: z.boolean(),
    frozen_reason: z.string().nullable(),
    controls: walletControls,
  })
  .transform((r) => ({
    orgId: r.org_id,
    currency: r.currency,
    balance: r.balance,
    debtLimit: r.debt_limit,
    version: r.version,
    updatedAt: r.updated_at,
    frozen: r.frozen,
    frozenReason: r.frozen_reason,
    controls: r.controls,
  }));
export type WalletSnapshot = z.output<typeof walletSnapshot>;

const entryRow = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    amount: money,
    balance_before: money,
    balance_after: money,
    reference: z.string().nullable(),
    created_at: z.string(),
  })
  .transform((r) => ({
    id: r.id,
    kind: r.kind,
    amount: r.amount,
    balanceBefore: r.balance_before,
    balanceAfter: r.balance_after,
    reference: r.reference,
    createdAt: r.created_at,
  }));
export type LedgerEntry = z.output<typeof entryRow>;

const orgCreated = z.union([
  z.object({ outcome: z.literal('created'), org_id: z.string() }),
  z.object({ outcome: z.literal('exists'), org_id: z.string() }),
]);

const numberRegistered = z.union([
  z.object({ outcome: z.literal('registered'), id: z.string(), org_id: z.string(), e164: z.string() }),
  notFound,
  z.object({ outcome: z.literal('number_taken') }),
]);

export type CreditResult = z.output<typeof creditResult>;
export type DebitResult = z.output<typeof debitResult>;
export type RefundResult = z.output<typeof refundResult>;
export type ChargeResult = z.output<typeof chargeResult>;

export interface LedgerStore {
  readonly rpc: Rpc;
  createOrg(input: { name: string; orgId?: string; currency: string }): Promise<z.output<typeof orgCreated>>;
  getWallet(orgId: string): Promise<WalletSnapshot | undefined>;
  credit(input: { orgId: string; amount: number; idempotencyKey: string; fingerprint: string; reason: string }): Promise<CreditResult>;
  debitForPurchase(input: { orgId: string; amount: number; idempotencyKey: string; reference: string }): Promise<DebitResult>;
  refund(input: { orgId: string; entryId: number; reason: string }): Promise<RefundResult>;
  chargeCall(input: { orgId: string; callId: string; amount: number; reference: string }): Promise<ChargeResult>;
  listEntries(input: { orgId: string; beforeId?: number; limit: number }): Promise<LedgerEntry[]>;
  registerPhoneNumber(input: {
    orgId: string;
    e164: string;
    vapiPhoneNumberId: string;
    assistantId: string;
  }): Promise<z.output<typeof numberRegistered>>;
}

export function createLedgerStore(rpc: Rpc): LedgerStore {
  return {
    rpc,
    async createOrg({ name, orgId, currency }) {
      return parseRpcResult(orgCreated, 'org_create', await rpc.call('org_create', { p_name: name, p_org_id: orgId ?? null, p_currency: currency }));
    },
    async getWallet(orgId) {
      const raw = await rpc.call('wallet_get', { p_org_id: orgId });
      if ((raw as { outcome?: string } | null)?.outcome === 'not_found') return undefined;
      return parseRpcResult(walletSnapshot, 'wallet_get', raw);
    },
    async credit({ orgId, amount, idempotencyKey, fingerprint, reason }) {
      const raw = await rpc.call('wallet_credit', {
        p_org_id: orgId,
        p_amount: amount,
        p_idempotency_key: idempotencyKey,
        p_fingerprint: fingerprint,
        p_reason: reason,
      });
      return parseRpcResult(creditResult, 'wallet_credit', raw);
    },
    async debitForPurchase({ orgId, amount, idempotencyKey, reference }) {
      const raw = await rpc.call('wallet_debit_for_purchase', {
        p_org_id: orgId,
        p_amount: amount,
        p_idempotency_key: idempotencyKey,
        p_reference: reference,
      });
      return parseRpcResult(debitResult, 'wallet_debit_for_purchase', raw);
    },
    async refund({ orgId, entryId, reason }) {
      return parseRpcResult(refundResult, 'wallet_refund', await rpc.call('wallet_refund', { p_org_id: orgId, p_entry_id: entryId, p_reason: reason }));
    },
    async chargeCall({ orgId, callId, amount, reference }) {
      const raw = await rpc.call('wallet_charge_call', { p_org_id: orgId, p_call_id: callId, p_amount: amount, p_reference: reference });
      return parseRpcResult(chargeResult, 'wallet_charge_call', raw);
    },
    async listEntries({ orgId, beforeId, limit }) {
      const raw = await rpc.call('ledger_list', { p_org_id: orgId, p_before_id: beforeId ?? null, p_limit: limit });
      return parseRpcResult(z.object({ items: z.array(entryRow) }), 'ledger_list', raw).items;
    },
    async registerPhoneNumber({ orgId, e164, vapiPhoneNumberId, assistantId }) {
      const raw = await rpc.call('phone_number_register', {
        p_org_id: orgId,
        p_e164: e164,
        p_vapi_phone_number_id: vapiPhoneNumberId,
        p_assistant_id: assistantId,
      });
      return parseRpcResult(numberRegistered, 'phone_number_register', raw);
    },
  };
}
