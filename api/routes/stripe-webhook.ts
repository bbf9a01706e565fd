// POST /api/stripe/webhook — Stripe's events (CONTRACT §7). The raw body is verified by the SDK's
// stripe.webhooks.constructEvent (Stripe-Signature, 300 s tolerance); anything else is 400
// invalid_signature and changes nothing. A verified body that is not an event is 400. Every
// verified event gets 200, whatever its effect (duplicate, unknown organisation, mismatch), so
// Stripe stops retrying; only an unreachable database answers 503, and then nothing was recorded.
import express, { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { AppError } from '../../shared/errors';
import { handleStripeEvent, stripeEventShape } from '../../shared/money-in/stripe-events';
import { stripeEventDeps } from '../../shared/process/stripe-event-deps';

export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300;
const BODY_LIMIT_BYTES = 1_000_000;

export function stripeWebhookRoutes(services: Services): Router {
  const { config, stripe, metrics } = services;
  const r = Router();
  r.post('/webhook', express.raw({ type: () => true, limit: BODY_LIMIT_BYTES }), async (req, res) => {
    const raw: unknown = req.body;
    const header = req.get('stripe-signature');
    if (!Buffer.isBuffer(raw) || header === undefined) {
      metrics.stripeEvents.inc({ type: 'unverified', outcome: 'invalid_signature' });
      throw new AppError('invalid_signature', 'The Stripe-Signature header is missing or the body is empty.');
    }
    let event: unknown;
    try {
      event = stripe.webhooks.constructEvent(raw, header, config.stripe.webhookSecret, STRIPE_SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      // Bad signature, stale timestamp, or a signed body that is not JSON: nothing changes.
      metrics.stripeEvents.inc({ type: 'unverified', outcome: 'invalid_signature' });
      throw new AppError('invalid_signature', 'The Stripe-Signature header does not verify this body.');
    }
    const parsed = stripeEventShape.safeParse(event);
    if (!parsed.success) {
      metrics.stripeEvents.inc({ type: 'other', outcome: 'invalid_event' });
      throw new AppError('invalid_request', 'The body is not a Stripe event.');
    }
    const result = await handleStripeEvent(stripeEventDeps(services), parsed.data);
    if (result.outcome === 'invalid_event') throw new AppError('invalid_request', `The ${parsed.data.type} event's object does not have the fields this service needs.`);
    res.json({ received: true, outcome: result.outcome });
  });
  return r;
}
