// Typed wrappers over the money-in SQL functions (supabase/migrations/20261130001100_money_in.sql).
// Expected outcomes come back as discriminated unions; a shape we did not expect from our own SQL
// is a programmer error and crashes loudly.
import { z } from 'zod';
import { cachedBalance } from '../cache/cached-balance';
import { parseRpcResult } from '../db/parse-rpc-result';
import type { Rpc, RpcArgs } from '../db/rpc';

const money = z.number().int();

// With the spend controls at the same version (wallet_cache_json), so a write-through keeps them.
export const cachedWallet = cachedBalance.extend({ frozen: z.boolean() });
export type CachedWallet = z.output<typeof cachedWallet>;

const topUpRow = z
  .object({
    id: z.string(),
    org_id: z.string(),
    source: z.enum(['checkout', 'auto_recharge']),
    status: z.enum(['pending', 'paid', 'failed', 'expired']),
    amount: money,
    currency: z.string(),
    checkout_session_id: z.string().nullable(),
    checkout_url: z.string().nullable(),
    payment_intent_id: z.string().nullable(),
    credited: money,
    refunded: money,
    failure_code: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .transform((r) => ({
    topUpId: r.id,
    orgId: r.org_id,
    source: r.source,
    status: r.status,
    amount: r.amount,
    currency: r.currency,
    checkoutSessionId: r.checkout_session_id,
    checkoutUrl: r.checkout_url,
    paymentIntentId: r.payment_intent_id,
    credited: r.credited,
    refunded: r.refunded,
    failureCode: r.failure_code,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
export type TopUp = z.output<typeof topUpRow>;

const notFound = z.object({ outcome: z.literal('not_found') });

const topUpCreated = z.union([
  z.object({ outcome: z.literal('created'), replayed: z.boolean(), top_up: topUpRow }),
  notFound,
  z.object({ outcome: z.literal('idempotency_key_reused') }),
]);
const topUpFound = z.union([z.object({ outcome: z.literal('found'), top_up: topUpRow }), notFound]);

/** What a Stripe event's SQL function did (the webhook counts it and writes the wallet through). */
export const stripeEffect = z.object({
  outcome: z.enum(['credited', 'already_credited', 'duplicate', 'unknown_organisation', 'mismatch', 'closed', 'already', 'applied', 'pending', 'recorded', 'ignored']),
  org_id: z.string().optional(),
  wallet: cachedWallet.optional(),
  top_up: topUpRow.optional(),
  disabled: z.boolean().optional(),
});
export type StripeEffect = z.output<typeof stripeEffect>;

const paymentMethod = z.object({ brand: z.string().nullable(), last4: z.string().nullable() }).nullable();
const rechargeSettings = z
  .object({ enabled: z.boolean(), threshold: money, amount: money, currency: z.string(), failures_in_a_row: z.number().int(), payment_method: paymentMethod })
  .transform((r) => ({ enabled: r.enabled, threshold: r.threshold, amount: r.amount, currency: r.currency, failuresInARow: r.failures_in_a_row, paymentMethod: r.payment_method }));
export type AutoRechargeSettings = z.output<typeof rechargeSettings>;
const rechargeSettingsResult = z.union([
  z.object({ outcome: z.enum(['found', 'no_payment_method']), settings: rechargeSettings }),
  notFound,
]);

const claim = z.union([
  z.object({ outcome: z.enum(['claimed', 'resume']), top_up: topUpRow, customer_id: z.string().nullable(), payment_method_id: z.string().nullable() }),
  z.object({ outcome: z.literal('cooldown'), retry_after_ms: z.number().int() }),
  z.object({ outcome: z.enum(['in_flight', 'not_needed', 'off', 'frozen', 'stale']) }),
]);
export type RechargeClaim = z.output<typeof claim>;

const alertsResult = z.union([
  z.object({ outcome: z.literal('found'), thresholds: z.array(money), webhook_url: z.string().nullable(), signing_secret: z.string().nullable(), currency: z.string() }),
  notFound,
]);

const walletEvent = z
  .object({ id: z.number().int(), type: z.string(), data: z.record(z.string(), z.unknown()), created_at: z.string() })
  .transform((r) => ({ id: String(r.id), type: r.type, data: r.data, createdAt: r.created_at }));

const deliverable = z.union([
  z.object({
    outcome: z.literal('found'),
    id: z.number().int(),
    org_id: z.string(),
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    delivered: z.boolean(),
    webhook_url: z.string().nullable(),
    signing_secret: z.string().nullable(),
  }),
  notFound,
]);
export type DeliverableEvent = z.output<typeof deliverable>;

// Receipts (CONTRACT §12): a paid top-up's number from the one gap-free series, and its card.
const receiptRow = z
  .object({
    receipt_number: z.string().regex(/^R-\d{6,}$/),
    top_up_id: z.string(),
    amount: money,
    currency: z.string(),
    paid_at: z.string(),
    card_brand: z.string().nullable(),
    card_last4: z.string().nullable(),
  })
  .transform((r) => ({ receiptNumber: r.receipt_number, topUpId: r.top_up_id, amount: r.amount, currency: r.currency, paidAt: r.paid_at, cardBrand: r.card_brand, cardLast4: r.card_last4 }));
export type Receipt = z.output<typeof receiptRow>;
const receiptFound = z.union([z.object({ outcome: z.literal('found'), receipt: receiptRow }), notFound]);

/** A top-up in a list: its row, its receipt number once paid, and its keyset (created_at exactly as SQL wrote it). */
const listedTopUp = z.looseObject({ receipt_number: z.string().regex(/^R-\d{6,}$/).nullable(), created_at: z.string(), id: z.string() });
export interface ListedTopUp {
  topUp: TopUp;
  receiptNumber: string | null;
  keyset: { at: string; id: string };
}

const outboxItems = z.object({
  items: z.array(
    z.object({
      id: z.number().int(),
      org_id: z.string(),
      task: z.enum(['deliver_event', 'auto_recharge', 'retry_rent']),
      event_id: z.number().int().nullable(),
      attempt: z.number().int().positive(),
      lease_expired: z.boolean(),
    }),
  ),
});
export type OutboxItem = z.output<typeof outboxItems>['items'][number];
const outboxRetry = z.union([z.object({ outcome: z.literal('retrying'), attempt: z.number().int(), retry_in_ms: z.number().int() }), z.object({ outcome: z.literal('stale') })]);

export function createMoneyInStore(rpc: Rpc) {
  const call = async <S extends z.ZodTypeAny>(schema: S, fn: string, args: RpcArgs): Promise<z.output<S>> => parseRpcResult(schema, fn, await rpc.call(fn, args));
  return {
    createTopUp: (i: { orgId: string; amount: number; idempotencyKey: string; fingerprint: string }) =>
      call(topUpCreated, 'topup_create', { p_org_id: i.orgId, p_amount: i.amount, p_idempotency_key: i.idempotencyKey, p_fingerprint: i.fingerprint }),
    attachSession: (topUpId: string, sessionId: string, url: string) =>
      call(topUpFound, 'topup_attach_session', { p_top_up_id: topUpId, p_session_id: sessionId, p_url: url }),
    getTopUp: (orgId: string, topUpId: string) => call(topUpFound, 'topup_get', { p_org_id: orgId, p_top_up_id: topUpId }),
    /** One page of the organisation's top-ups, newest first, each with its receipt number once paid. */
    listTopUps: async (i: { orgId: string; before: { at: string; id: string } | undefined; limit: number }): Promise<ListedTopUp[]> => {
      const args = { p_org_id: i.orgId, p_before_created_at: i.before?.at ?? null, p_before_id: i.before?.id ?? null, p_limit: i.limit };
      const { items } = await call(z.object({ items: z.array(listedTopUp) }), 'top_ups_list', args);
      return items.map((r) => ({ topUp: parseRpcResult(topUpRow, 'top_ups_list', r), receiptNumber: r.receipt_number, keyset: { at: r.created_at, id: r.id } }));
    },
    /** The receipt of a paid top-up of this organisation; not_found until it is paid. */
    receipt: (orgId: string, topUpId: string) => call(receiptFound, 'top_up_receipt_get', { p_org_id: orgId, p_top_up_id: topUpId }),
    /** The wallet's Stripe customer; `customerId` is recorded if none is yet (the first one wins). */
    stripeCustomer: (orgId: string, customerId: string | null) =>
      call(z.union([z.object({ outcome: z.literal('found'), customer_id: z.string().nullable() }), notFound]), 'wallet_stripe_customer', { p_org_id: orgId, p_customer_id: customerId }),

    noteEvent: (eventId: string, type: string, outcome: 'recorded' | 'ignored' | 'unknown_organisation' | 'mismatch') =>
      call(stripeEffect, 'stripe_event_note', { p_event_id: eventId, p_type: type, p_outcome: outcome }),
    paymentSucceeded: (i: {
      eventId: string;
      type: string;
      topUpId: string;
      orgId: string;
      paymentIntentId: string;
      amount: number;
      currency: string;
      sessionId: string | null;
      customerId: string | null;
      paymentMethodId: string | null;
      cardBrand: string | null;
      cardLast4: string | null;
    }) =>
      call(stripeEffect, 'stripe_payment_succeeded', {
        p_event_id: i.eventId,
        p_type: i.type,
        p_top_up_id: i.topUpId,
        p_org_id: i.orgId,
        p_payment_intent_id: i.paymentIntentId,
        p_amount: i.amount,
        p_currency: i.currency,
        p_session_id: i.sessionId,
        p_customer_id: i.customerId,
        p_payment_method_id: i.paymentMethodId,
        p_card_brand: i.cardBrand,
        p_card_last4: i.cardLast4,
      }),
    paymentClosed: (i: { eventId: string; type: string; topUpId: string; orgId: string; status: 'failed' | 'expired'; failureCode: string | null; failureMessage: string | null }) =>
      call(stripeEffect, 'stripe_payment_closed', {
        p_event_id: i.eventId,
        p_type: i.type,
        p_top_up_id: i.topUpId,
        p_org_id: i.orgId,
        p_status: i.status,
        p_failure_code: i.failureCode,
        p_failure_message: i.failureMessage,
      }),
    chargeRefunded: (i: { eventId: string; type: string; chargeId: string; paymentIntentId: string; amountRefunded: number; currency: string }) =>
      call(stripeEffect, 'stripe_charge_refunded', {
        p_event_id: i.eventId,
        p_type: i.type,
        p_charge_id: i.chargeId,
        p_payment_intent_id: i.paymentIntentId,
        p_amount_refunded: i.amountRefunded,
        p_currency: i.currency,
      }),
    disputeEvent: (i: { eventId: string; type: string; disputeId: string; chargeId: string; paymentIntentId: string; amount: number; currency: string; status: string }) =>
      call(stripeEffect, 'stripe_dispute_event', {
        p_event_id: i.eventId,
        p_type: i.type,
        p_dispute_id: i.disputeId,
        p_charge_id: i.chargeId,
        p_payment_intent_id: i.paymentIntentId,
        p_amount: i.amount,
        p_currency: i.currency,
        p_status: i.status,
      }),

    getAutoRecharge: (orgId: string) => call(rechargeSettingsResult, 'auto_recharge_settings_get', { p_org_id: orgId }),
    putAutoRecharge: (orgId: string, s: { enabled: boolean; threshold: number; amount: number }) =>
      call(rechargeSettingsResult, 'auto_recharge_settings_put', { p_org_id: orgId, p_enabled: s.enabled, p_threshold: s.threshold, p_amount: s.amount }),
    /** One attempt of a "recharge wanted" outbox row: the row and attempt come from claimOutbox. */
    claimRecharge: (orgId: string, cooldownSeconds: number, outboxId: number, attempt: number) =>
      call(claim, 'auto_recharge_claim', { p_org_id: orgId, p_cooldown_seconds: cooldownSeconds, p_outbox_id: outboxId, p_attempt: attempt }),
    rechargeSubmitted: (topUpId: string, paymentIntentId: string) =>
      call(topUpFound, 'auto_recharge_submitted', { p_top_up_id: topUpId, p_payment_intent_id: paymentIntentId }),
    rechargeFailed: (topUpId: string, code: string, message: string) =>
      call(z.union([stripeEffect, notFound]), 'auto_recharge_failed', { p_top_up_id: topUpId, p_failure_code: code, p_failure_message: message }),

    putAlerts: (orgId: string, thresholds: number[], webhookUrl: string | null, newSecret: string) =>
      call(alertsResult, 'wallet_alerts_put', { p_org_id: orgId, p_thresholds: JSON.stringify(thresholds), p_webhook_url: webhookUrl, p_new_secret: newSecret }),
    listEvents: async (orgId: string, beforeId: number | undefined, limit: number) =>
      (await call(z.object({ items: z.array(walletEvent) }), 'wallet_events_list', { p_org_id: orgId, p_before_id: beforeId ?? null, p_limit: limit })).items,
    eventForDelivery: (eventId: number) => call(deliverable, 'wallet_event_for_delivery', { p_event_id: eventId }),
    eventDelivered: (eventId: number) => rpc.call('wallet_event_delivered', { p_event_id: eventId }),
    claimOutbox: async (limit: number, leaseSeconds: number) => (await call(outboxItems, 'money_outbox_claim', { p_limit: limit, p_lease_seconds: leaseSeconds })).items,
    /** An event delivery row once its job finished, a rent retry row once queued (a recharge row is closed only by its recharge's SQL). */
    outboxDone: (id: number) => rpc.call('money_outbox_done', { p_id: id }),
    /** Which of these Stripe event ids are not recorded yet (the catch-up of missed webhooks). */
    unseenEvents: async (eventIds: readonly string[]) => (await call(z.object({ unseen: z.array(z.string()) }), 'stripe_events_unseen', { p_event_ids: eventIds })).unseen,
    /** An event delivery row whose job is still queued or retrying: looked at again in `seconds`. */
    outboxDefer: (id: number, seconds: number) => rpc.call('money_outbox_defer', { p_id: id, p_seconds: seconds }),
    /** The attempt failed without an answer: the row is due again after a backoff decided in SQL. */
    outboxRetry: (id: number, attempt: number, error: string, maxBackoffSeconds: number) =>
      call(outboxRetry, 'money_outbox_retry', { p_id: id, p_attempt: attempt, p_error: error, p_max_backoff_seconds: maxBackoffSeconds }),

  };
}
export type MoneyInStore = ReturnType<typeof createMoneyInStore>;
