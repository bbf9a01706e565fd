// What a Stripe event's handler needs, from a process's services: the same for the webhook
// (api/routes/stripe-webhook.ts) and for the catch-up of missed webhooks (workers/stripe-catch-up.ts).
import type { StripeEventDeps } from '../money-in/stripe-events';
import type { Services } from './services';

export function stripeEventDeps(s: Services): StripeEventDeps {
  return {
    moneyIn: s.moneyIn,
    wallet: s.wallet,
    stripe: s.stripe,
    metrics: s.metrics,
    log: s.log,
    endLiveCalls: (orgId, tag) => s.calls.meters.endLiveCalls(orgId, tag),
  };
}
