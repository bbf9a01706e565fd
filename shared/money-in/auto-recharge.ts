// One attempt of a "recharge wanted" outbox row, for one wallet: claim it in SQL (one in flight
// per wallet, the cooldown, the rule re-checked on the live balance, the row and attempt this job
// carries), then one off-session PaymentIntent with a Stripe idempotency key per recharge. Every
// card-level failure (card_error of any code, or an invalid_request_error such as a detached card)
// becomes a counted auto_recharge.failed event, never only a log line (failure mode 33). Any other
// error (Stripe unreachable, 5xx, a timeout) is handed to the outbox, which backs the row off in
// SQL and claims it again; the recharge is then sent again under the same key, so a PaymentIntent
// Stripe made without our hearing of it is answered again, not made twice. Nothing here schedules
// anything: the outbox row is the schedule, this job only carries one attempt (issue 22).
// The credit itself comes from payment_intent.succeeded (stripe-events.ts).
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

/** The outbox row and attempt a job carries (money_outbox_claim). */
export interface RechargeAttempt {
  orgId: string;
  outboxId: number;
  attempt: number;
}

export type RechargeStep =
  | { outcome: 'submitted'; topUpId: string; paymentIntentId: string }
  | { outcome: 'failed'; topUpId: string; code: string; disabled: boolean }
  | { outcome: 'retrying'; topUpId: string; retryInMs: number | undefined }
  | { outcome: 'cooldown'; retryAfterMs: number }
  | { outcome: 'in_flight' | 'not_needed' | 'off' | 'frozen' | 'stale' };

/** Stripe's answer is a card-level failure when it says so, or when the request names a bad card. */
function cardFailure(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof Stripe.errors.StripeCardError || err instanceof Stripe.errors.StripeInvalidRequestError) {
    return { code: err.decline_code ?? err.code ?? err.type, message: err.message };
  }
  return undefined;
}

const SECRET = /\b(sk|rk|pk)_(live|test)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9]+/g;

/** What went wrong, for the outbox row and the log: the error's type and message, secrets masked. */
export function describeError(err: unknown): string {
  const e = err as { type?: unknown; code?: unknown; statusCode?: unknown; message?: unknown };
  const kind = typeof e.type === 'string' ? e.type : err instanceof Error ? err.name : 'error';
  const status = typeof e.statusCode === 'number' ? ` ${e.statusCode}` : '';
  const code = typeof e.code === 'string' ? ` ${e.code}` : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  return `${kind}${status}${code}: ${message}`.replace(SECRET, '[redacted]').slice(0, 500);
}

export async function runAutoRecharge(d: AutoRechargeDeps, a: RechargeAttempt): Promise<RechargeStep> {
  const { orgId, outboxId, attempt } = a;
  const claim = await d.moneyIn.claimRecharge(orgId, d.config.autoRecharge.cooldownSeconds, outboxId, attempt);
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
    // While available stays below the threshold, the failure asked again in SQL (top_up_fail):
    // the next try comes from the outbox after the cooldown.
    return { outcome: 'failed', topUpId: top.topUpId, code, disabled };
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
    // No answer: the row stays open and comes back after a backoff decided in SQL. If even that
    // cannot be recorded (Postgres down too), the row's lease lapses and it comes back anyway.
    d.metrics.autoRecharges.inc({ outcome: 'error' });
    const error = describeError(err);
    const r = await d.moneyIn.outboxRetry(outboxId, attempt, error, d.config.autoRecharge.retryMaxSeconds);
    if (r.outcome === 'retrying') d.metrics.moneyOutboxRetries.inc({ task: 'auto_recharge', reason: 'error' });
    const retryInMs = r.outcome === 'retrying' ? r.retry_in_ms : undefined;
    d.log.warn({ orgId, topUpId: top.topUpId, outboxId, attempt, retryInMs, error }, 'auto-recharge attempt ended without an answer; the outbox sends it again under the same Stripe key');
    return { outcome: 'retrying', topUpId: top.topUpId, retryInMs };
  }
}
