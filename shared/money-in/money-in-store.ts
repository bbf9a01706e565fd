// Typed wrappers over the money-in SQL functions (supabase/migrations/20261130001100_money_in.sql).
// Expected outcomes come back as discriminated unions; a shape we did not expect from our own SQL
// is a programmer error and crashes loudly.
import { z } from 'zod';
import { walletControls } from '../wallet/wallet-controls';
import type { Rpc, RpcArgs } from '../db/rpc';

const money = z.number().int();

// With the spend controls at the same version (wallet_cache_json), so a write-through keeps them.
export const cachedWallet = z.object({ balance: money, version: z.number().int().nonnegative(), currency: z.string(), frozen: z.boolean(), controls: walletControls.optional() });
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
  z.object({ outcome: z.enum(['in_flight', 'not_needed', 'off', 'frozen']) }),
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

const outboxItems = z.object({
  items: z.array(z.object({ id: z.number().int(), org_id: z.string(), task: z.enum(['deliver_event', 'auto_recharge', 'retry_rent']), event_id: z.number().int().nullable() })),
});
export type OutboxItem = z.output<typeof outboxItems>['items'][number];


function parse<S extends z.ZodTypeAny>(schema: S, fn: string, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`invariant violated: ${fn} returned an unexpected shape: ${JSON.stringify(value)}`);
  return r.data;
}

export function createMoneyInStore(rpc: Rpc) {
  const call = async <S extends z.ZodTypeAny>(schema: S, fn: string, args: RpcArgs): Promise<z.output<S>> => parse(schema, fn, await rpc.call(fn, args));
  return {
    createTopUp: (i: { orgId: string; amount: number; idempotencyKey: string; fingerprint: string }) =>
      call(topUpCreated, 'topup_create', { p_org_id: i.orgId, p_amount: i.amount, p_idempotency_key: i.idempotencyKey, p_fingerprint: i.fingerprint }),
    attachSession: (topUpId: string, sessionId: string, url: string) =>
      call(topUpFound, 'topup_attach_session', { p_top_up_id: topUpId, p_session_id: sessionId, p_url: url }),
    getTopUp: (orgId: string, topUpId: string) => call(topUpFound, 'topup_get', { p_org_id: orgId, p_top_up_id: topUpId }),
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
    disputeEvent: (i: { eventId: string; type: string; disputeId: string; chargeId: string | null; paymentIntentId: string; amount: number; currency: string; status: string }) =>
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
    claimRecharge: (orgId: string, cooldownSeconds: number) => call(claim, 'auto_recharge_claim', { p_org_id: orgId, p_cooldown_seconds: cooldownSeconds }),
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
    outboxDone: (id: number) => rpc.call('money_outbox_done', { p_id: id }),

  };
}
export type MoneyInStore = ReturnType<typeof createMoneyInStore>;
