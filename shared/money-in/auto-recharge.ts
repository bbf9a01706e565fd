// One auto-recharge step for one wallet: claim it in SQL (one in flight per wallet, the cooldown,
// the rule re-checked on the live balance), then one off-session PaymentIntent with a Stripe
// idempotency key per recharge. Every card-level failure (card_error of any code, or an
// invalid_request_error such as a detached card) becomes a counted auto_recharge.failed event,
// never only a log line (failure mode 33); a Stripe outage is thrown so the job is retried with
// the same key. The credit itself comes from payment_intent.succeeded (stripe-events.ts).
import Stripe from 'stripe';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { MoneyInStore } from './money-in-store';

export interface AutoRechargeDeps {
  config: Config;
  moneyIn: MoneyInStore;
  stripe: Stripe;
  metrics: Metrics;
  log: Logger;
}

export type RechargeStep =
  | { outcome: 'submitted'; topUpId: string; paymentIntentId: string }
  | { outcome: 'failed'; topUpId: string; code: string; disabled: boolean; retryAfterMs: number | undefined }
  | { outcome: 'cooldown'; retryAfterMs: number }
  | { outcome: 'in_flight' | 'not_needed' | 'off' | 'frozen' };

/** Stripe's answer is a card-level failure when it says so, or when the request names a bad card. */
function cardFailure(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof Stripe.errors.StripeCardError || err instanceof Stripe.errors.StripeInvalidRequestError) {
    return { code: err.decline_code ?? err.code ?? err.type, message: err.message };
  }
  return undefined;
}

export async function runAutoRecharge(d: AutoRechargeDeps, orgId: string): Promise<RechargeStep> {
  const cooldownMs = d.config.autoRecharge.cooldownSeconds * 1000;
  const claim = await d.moneyIn.claimRecharge(orgId, d.config.autoRecharge.cooldownSeconds);
  if (claim.outcome === 'cooldown') {
    d.metrics.autoRecharges.inc({ outcome: 'cooldown' });
    return { outcome: 'cooldown', retryAfterMs: claim.retry_after_ms };
  }
  if (claim.outcome !== 'claimed' && claim.outcome !== 'resume') {
    d.metrics.autoRecharges.inc({ outcome: claim.outcome });
    return { outcome: claim.outcome };
  }
  const top = claim.top_up;
  const fail = async (code: string, message: string): Promise<RechargeStep> => {
    const r = await d.moneyIn.rechargeFailed(top.topUpId, code, message);
    const disabled = r.outcome !== 'not_found' && r.disabled === true;
    d.metrics.autoRecharges.inc({ outcome: 'failed' });
    if (disabled) d.metrics.autoRecharges.inc({ outcome: 'disabled' });
    d.log.warn({ orgId, topUpId: top.topUpId, code, disabled }, 'auto-recharge failed');
    // While available stays below the threshold, the next try comes after the cooldown.
    return { outcome: 'failed', topUpId: top.topUpId, code, disabled, retryAfterMs: disabled ? undefined : cooldownMs };
  };
  if (claim.customer_id === null || claim.payment_method_id === null) return fail('no_payment_method', 'No saved card to charge.');
  try {
    const pi = await d.stripe.paymentIntents.create(
      {
        amount: top.amount,
        currency: top.currency,
        customer: claim.customer_id,
        payment_method: claim.payment_method_id,
        off_session: true,
        confirm: true,
        description: 'billing-gates auto-recharge',
        metadata: { kind: 'auto_recharge', orgId, topUpId: top.topUpId },
      },
      { idempotencyKey: `recharge-${top.topUpId}` },
    );
    await d.moneyIn.rechargeSubmitted(top.topUpId, pi.id);
    if (pi.status !== 'succeeded' && pi.status !== 'processing') {
      return fail(pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code ?? pi.status, pi.last_payment_error?.message ?? `payment intent ${pi.status}`);
    }
    d.metrics.autoRecharges.inc({ outcome: 'submitted' });
    return { outcome: 'submitted', topUpId: top.topUpId, paymentIntentId: pi.id };
  } catch (err) {
    const card = cardFailure(err);
    if (card) return fail(card.code, card.message);
    d.metrics.autoRecharges.inc({ outcome: 'error' });
    throw err;
  }
}
