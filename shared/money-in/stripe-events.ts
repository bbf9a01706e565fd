// What a verified Stripe event does (CONTRACT §7 table). Each handled type is parsed with zod and
// handed to one SQL function that records the event id and its money effect in one transaction;
// this file only picks the function and its arguments. Expected outcomes (duplicate, unknown
// organisation, mismatch, pending) are values; the webhook answers 200 to all of them so Stripe
// stops retrying, and counts them.
import { z } from 'zod';
import type Stripe from 'stripe';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { WalletService } from '../wallet/wallet-service';
import type { MoneyInStore, StripeEffect } from './money-in-store';

export const HANDLED_EVENT_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
  'charge.dispute.closed',
] as const;
type HandledType = (typeof HANDLED_EVENT_TYPES)[number];

const id = z.string().min(1).max(255);
const amount = z.number().int().min(0).max(100_000_000);
const currency = z.string().regex(/^[a-z]{3}$/);
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i).transform((s) => s.toLowerCase());
/** An expandable field: the id, or the expanded object's id. */
const ref = z.union([id, z.object({ id })]).transform((v) => (typeof v === 'string' ? v : v.id));
const ours = z.object({ orgId: uuid, topUpId: uuid });

export const stripeEventShape = z.object({ id, type: z.string().min(1).max(100), data: z.object({ object: z.record(z.string(), z.unknown()) }) });

const session = z.object({
  id,
  payment_status: z.enum(['paid', 'unpaid', 'no_payment_required']),
  payment_intent: ref.nullable(),
  amount_total: amount.nullable(),
  currency: currency.nullable(),
  customer: ref.nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable(),
});
const paymentIntent = z.object({
  id,
  amount,
  currency,
  customer: ref.nullable().optional(),
  payment_method: ref.nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable(),
  last_payment_error: z.object({ code: z.string().nullable().optional(), decline_code: z.string().nullable().optional(), message: z.string().nullable().optional() }).nullable().optional(),
});
const charge = z.object({ id, payment_intent: ref.nullable(), amount_refunded: amount, currency });
// Stripe's Dispute.charge is never null: every dispute is counted against its charge's amount.
const dispute = z.object({ id, charge: ref, payment_intent: ref.nullable(), amount: amount.min(1), currency, status: z.string().min(1).max(50) });

export interface StripeEventDeps {
  moneyIn: MoneyInStore;
  wallet: WalletService;
  stripe: Stripe;
  metrics: Metrics;
  log: Logger;
  /** Ends the organisation's calls in progress through their control URLs (a frozen wallet, CONTRACT §8). */
  endLiveCalls(orgId: string, tag: string): Promise<number>;
}

export type EventResult = { outcome: StripeEffect['outcome'] | 'invalid_event'; orgId?: string };

const isHandled = (t: string): t is HandledType => (HANDLED_EVENT_TYPES as readonly string[]).includes(t);

/** The card of a paid payment, read back from Stripe (saved card, receipt); a failure only loses the card. */
async function cardOf(d: StripeEventDeps, paymentIntentId: string) {
  try {
    const pi = await d.stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['payment_method'] });
    const pm = typeof pi.payment_method === 'object' ? pi.payment_method : null;
    return {
      customerId: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
      paymentMethodId: pm?.id ?? (typeof pi.payment_method === 'string' ? pi.payment_method : null),
      cardBrand: pm?.card?.brand ?? null,
      cardLast4: pm?.card?.last4 ?? null,
    };
  } catch (err) {
    d.log.warn({ paymentIntentId, err: (err as Error).message }, 'could not read the card of a paid top-up; credited without saving it');
    return { customerId: null, paymentMethodId: null, cardBrand: null, cardLast4: null };
  }
}

async function apply(d: StripeEventDeps, eventId: string, type: HandledType, object: unknown): Promise<StripeEffect | 'invalid'> {
  const m = d.moneyIn;
  switch (type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
    case 'checkout.session.expired': {
      const s = session.safeParse(object);
      if (!s.success) return 'invalid';
      const meta = ours.safeParse(s.data.metadata ?? {});
      if (!meta.success) return m.noteEvent(eventId, type, 'unknown_organisation');
      const { orgId, topUpId } = meta.data;
      if (type === 'checkout.session.expired' || type === 'checkout.session.async_payment_failed') {
        const status = type === 'checkout.session.expired' ? 'expired' : 'failed';
        return m.paymentClosed({ eventId, type, topUpId, orgId, status, failureCode: status === 'failed' ? 'async_payment_failed' : null, failureMessage: null });
      }
      // completed but not yet paid (a delayed method): async_payment_succeeded will follow.
      if (s.data.payment_status !== 'paid' || s.data.payment_intent === null || s.data.amount_total === null || s.data.currency === null) {
        return m.noteEvent(eventId, type, 'recorded');
      }
      const card = await cardOf(d, s.data.payment_intent);
      return m.paymentSucceeded({ eventId, type, topUpId, orgId, paymentIntentId: s.data.payment_intent, amount: s.data.amount_total, currency: s.data.currency, sessionId: s.data.id, ...card });
    }
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed': {
      const p = paymentIntent.safeParse(object);
      if (!p.success) return 'invalid';
      const meta = ours.safeParse(p.data.metadata ?? {});
      if (!meta.success) return m.noteEvent(eventId, type, 'unknown_organisation');
      const { orgId, topUpId } = meta.data;
      if (type === 'payment_intent.payment_failed') {
        const e = p.data.last_payment_error;
        return m.paymentClosed({ eventId, type, topUpId, orgId, status: 'failed', failureCode: e?.decline_code ?? e?.code ?? 'payment_failed', failureMessage: e?.message ?? null });
      }
      // Credited by the PaymentIntent id: the checkout events of the same payment change nothing more.
      // The card is read for the receipt (CONTRACT §12) only: with no payment method id it is not
      // saved for auto-recharge from here (the checkout's own event saves it).
      const card = await cardOf(d, p.data.id);
      return m.paymentSucceeded({
        eventId,
        type,
        topUpId,
        orgId,
        paymentIntentId: p.data.id,
        amount: p.data.amount,
        currency: p.data.currency,
        sessionId: null,
        customerId: p.data.customer ?? null,
        paymentMethodId: null,
        cardBrand: card.cardBrand,
        cardLast4: card.cardLast4,
      });
    }
    case 'charge.refunded': {
      const c = charge.safeParse(object);
      if (!c.success) return 'invalid';
      if (c.data.payment_intent === null) return m.noteEvent(eventId, type, 'unknown_organisation');
      return m.chargeRefunded({ eventId, type, chargeId: c.data.id, paymentIntentId: c.data.payment_intent, amountRefunded: c.data.amount_refunded, currency: c.data.currency });
    }
    case 'charge.dispute.created':
    case 'charge.dispute.funds_withdrawn':
    case 'charge.dispute.funds_reinstated':
    case 'charge.dispute.closed': {
      const x = dispute.safeParse(object);
      if (!x.success) return 'invalid';
      if (x.data.payment_intent === null) return m.noteEvent(eventId, type, 'unknown_organisation');
      return m.disputeEvent({ eventId, type, disputeId: x.data.id, chargeId: x.data.charge, paymentIntentId: x.data.payment_intent, amount: x.data.amount, currency: x.data.currency, status: x.data.status });
    }
  }
}

/** Applies one verified event. Never throws for an expected outcome; an unreachable database throws. */
export async function handleStripeEvent(d: StripeEventDeps, event: z.output<typeof stripeEventShape>): Promise<EventResult> {
  const type = event.type;
  const label = isHandled(type) ? type : 'other';
  const effect = isHandled(type) ? await apply(d, event.id, type, event.data.object) : await d.moneyIn.noteEvent(event.id, type, 'ignored');
  if (effect === 'invalid') {
    d.metrics.stripeEvents.inc({ type: label, outcome: 'invalid_event' });
    return { outcome: 'invalid_event' };
  }
  d.metrics.stripeEvents.inc({ type: label, outcome: effect.outcome });
  if (effect.outcome === 'unknown_organisation' || effect.outcome === 'mismatch') {
    d.log.warn({ eventId: event.id, type, outcome: effect.outcome }, 'stripe event for no top-up of ours, or not matching it: nothing credited');
  }
  if (effect.outcome === 'pending') d.log.warn({ eventId: event.id, type }, 'stripe event for a payment not credited yet: kept until it is');
  const top = effect.top_up;
  if (top && (effect.outcome === 'credited' || effect.outcome === 'closed')) d.metrics.topUps.inc({ source: top.source, outcome: top.status });
  if (effect.outcome === 'credited') d.metrics.walletMovements.inc({ kind: 'topup', outcome: 'posted' });
  if (effect.disabled) d.metrics.autoRecharges.inc({ outcome: 'disabled' });
  if (top && top.source === 'auto_recharge' && effect.outcome === 'closed' && top.status === 'failed') d.metrics.autoRecharges.inc({ outcome: 'failed' });
  const orgId = effect.org_id ?? top?.orgId;
  if (orgId !== undefined && effect.wallet) await d.wallet.writeThrough(orgId, effect.wallet);
  // A dispute froze the wallet: its live calls end now, as an operator's freeze ends them.
  if (type === 'charge.dispute.created' && orgId !== undefined && effect.wallet?.frozen === true) {
    const ending = await d.endLiveCalls(orgId, `dispute-${event.id}`);
    if (ending > 0) d.log.warn({ orgId, eventId: event.id, calls: ending }, 'wallet frozen by a dispute: ending its calls in progress');
  }
  return { outcome: effect.outcome, orgId };
}
