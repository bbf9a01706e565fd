// The hold policy (docs/call-gate.md): an admitted call holds what its granted maxDuration can
// cost, and never less than CALL_MIN_BALANCE. The hold therefore covers the longest call Vapi
// will let it make, so simultaneous calls cannot together spend more than the balance (beyond
// the rounding Vapi's 10-second minimum allows); the price of that safety is that a small
// balance admits few calls at once. All price math comes from shared/pricing.ts.
import { callCharge, maxDurationSeconds, type Pricing } from '../pricing';

export interface HoldPlan {
  amount: number;
  maxDurationSeconds: number;
}

/** The hold and duration to grant on `available`, or undefined when the call must be refused. */
export function planHold(pricing: Pricing, safetyMarginSeconds: number, available: number): HoldPlan | undefined {
  if (available < pricing.callMinBalance) return undefined;
  const seconds = maxDurationSeconds(pricing, available, safetyMarginSeconds);
  const amount = Math.max(callCharge(pricing, seconds), pricing.callMinBalance);
  // Only when CALL_MIN_BALANCE is below the cost of Vapi's 10-second minimum.
  if (amount > available) return undefined;
  return { amount, maxDurationSeconds: seconds };
}

/** Seconds a hold lives: the granted duration plus the grace for the call's last webhooks. */
export const holdLifetimeSeconds = (maxDuration: number, graceSeconds: number) => maxDuration + graceSeconds;
