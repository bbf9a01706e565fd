// The Stripe catch-up's wiring (shared/money-in/stripe-catch-up.ts): its maintenance task's name
// (its schedule: keep-schedules.ts scheduleMaintenanceTask, asserted by every workers process) and
// its dependencies from a process's services.
import type { StripeCatchUpDeps } from '../shared/money-in/stripe-catch-up';
import type { Services } from '../shared/process/services';
import { stripeEventDeps } from '../shared/process/stripe-event-deps';

export const STRIPE_CATCH_UP_SCHEDULER_ID = 'stripe-catch-up';

/** What the catch-up needs: the webhook handler's own dependencies, Redis for its cursor, its window. */
export function stripeCatchUpDeps(s: Services): StripeCatchUpDeps {
  const { windowSeconds, settleSeconds } = s.config.stripe.catchUp;
  return {
    ...stripeEventDeps(s),
    redis: s.redis,
    keys: s.keys,
    windowSeconds,
    settleSeconds,
  };
}
