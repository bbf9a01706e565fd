// The hold policy (docs/call-gate.md). An admitted call is granted maxDurationSeconds for the
// whole available balance, and holds:
//   full     the cost of that whole duration (zero overdraft, little concurrency);
//   metered  one slice: the cost of CALL_HOLD_SECONDS, or of the whole duration when that is less,
//            renewed slice by slice while the call lasts (many calls per wallet, an overdraft of at
//            most one slice per live call when the money runs out).
// Either is raised to CALL_MIN_BALANCE when lower. All price math comes from shared/pricing.ts;
// the Lua and SQL copies of this plan are proven equal to it (test/calls/hold-plan-parity.test.ts).
import { callCost, defaultCallRate, maxDurationSeconds, secondsPaid, type CallRate, type Pricing } from '../pricing';

export type HoldPolicy = { kind: 'full' } | { kind: 'metered'; holdSeconds: number };

export interface HoldPlan {
  /** What the call holds now. */
  amount: number;
  maxDurationSeconds: number;
  /** The most the hold may grow to by renewals: the cost of maxDurationSeconds. */
  cap: number;
  /** Seconds of call, from admission, that `amount` pays for (never beyond maxDurationSeconds). */
  heldSeconds: number;
}

/** Seconds of call `amount` pays for at the call's rate (default: CALL_RATE_PER_MINUTE), within the granted duration. */
export function secondsPaidFor(pricing: Pricing, amount: number, maxDuration: number, rate: CallRate = defaultCallRate(pricing)): number {
  return Math.min(maxDuration, secondsPaid(rate, amount));
}

/**
 * The hold and duration to grant on `available` at the call's rate (CONTRACT §10; default:
 * CALL_RATE_PER_MINUTE, no fee, increments of 1 s), or undefined when the call must be refused.
 */
export function planHold(pricing: Pricing, safetyMarginSeconds: number, available: number, policy: HoldPolicy = { kind: 'full' }, rate: CallRate = defaultCallRate(pricing)): HoldPlan | undefined {
  if (available < pricing.callMinBalance) return undefined;
  const seconds = maxDurationSeconds(pricing, available, safetyMarginSeconds, rate);
  const cap = callCost(rate, seconds);
  const slice = policy.kind === 'metered' ? Math.min(callCost(rate, policy.holdSeconds), cap) : cap;
  const amount = Math.max(slice, pricing.callMinBalance);
  // Only when CALL_MIN_BALANCE is below the cost of Vapi's 10-second minimum (at this rate).
  if (amount > available) return undefined;
  return { amount, maxDurationSeconds: seconds, cap, heldSeconds: secondsPaidFor(pricing, amount, seconds, rate) };
}


/**
 * How long before its held seconds run out a metered call's next slice is asked for: a quarter
 * of a slice, at least 2 s (job and network delays) and at most 30 s (money held early is money
 * other calls cannot use).
 */
export function renewalLeadSeconds(holdSeconds: number): number {
  return Math.min(30, Math.max(2, Math.ceil(holdSeconds / 4)));
}
