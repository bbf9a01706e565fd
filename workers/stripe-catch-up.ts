// The schedule of the Stripe catch-up (shared/money-in/stripe-catch-up.ts): one job scheduler on
// the maintenance queue, re-asserted by every workers process (keep-schedules.ts).
import type { Queue } from 'bullmq';
import type { StripeCatchUpDeps } from '../shared/money-in/stripe-catch-up';
import type { Services } from '../shared/process/services';
import { stripeEventDeps } from '../shared/process/stripe-event-deps';
import { KEEP_COMPLETED, KEEP_FAILED, type MaintenanceJob } from '../shared/queues/queues';

export const STRIPE_CATCH_UP_SCHEDULER_ID = 'stripe-catch-up';

export async function scheduleStripeCatchUp(maintenance: Queue<MaintenanceJob>, intervalMs: number): Promise<void> {
  await maintenance.upsertJobScheduler(
    STRIPE_CATCH_UP_SCHEDULER_ID,
    { every: intervalMs },
    { name: STRIPE_CATCH_UP_SCHEDULER_ID, data: { task: 'stripe-catch-up' }, opts: { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED } },
  );
}

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
