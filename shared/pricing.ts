// Every price and rate is read from Config.pricing and computed here, nowhere else (failure
// mode 5). SQL functions receive amounts; they never hold a price of their own.
import type { Config } from './config';
import { assert } from './errors';

export type Pricing = Config['pricing'];

/** Vapi's bounds for assistantOverrides.maxDurationSeconds. */
export const VAPI_MIN_DURATION_SECONDS = 10;
export const VAPI_MAX_DURATION_SECONDS = 43_200;

/**
 * ceil(seconds × rate ÷ 60) in integer arithmetic for whole seconds (the cost of a hold's seconds);
 * zero seconds cost nothing. A call's own charge is computed once, from exact milliseconds, by
 * call_settle at the rate passed in from here (shared/calls/call-billing.ts).
 */
export function callCharge(pricing: Pricing, seconds: number): number {
  assert(Number.isSafeInteger(seconds) && seconds >= 0, `call seconds must be a whole number >= 0, got ${seconds}`);
  const pence = Math.ceil((seconds * pricing.callRatePerMinute) / 60);
  assert(Number.isSafeInteger(pence), 'call charge overflow');
  return pence;
}

/**
 * A call's rate (CONTRACT §10): the operators' row whose prefix is the longest prefix of the
 * number (prefix set), or, when none matches, CALL_RATE_PER_MINUTE with no connect fee, no
 * minimum and increments of 1 s (prefix null). Fixed at the call's admission: its holds,
 * maxDurationSeconds, renewals and charge all use it.
 */
export interface CallRate {
  prefix: string | null;
  ratePerMinute: number;
  connectFee: number;
  minimumSeconds: number;
  incrementSeconds: number;
}

/** The rate of a call no prefix matched: CALL_RATE_PER_MINUTE, no connect fee, increments of 1 s. */
export function defaultCallRate(pricing: Pricing): CallRate {
  return { prefix: null, ratePerMinute: pricing.callRatePerMinute, connectFee: 0, minimumSeconds: 0, incrementSeconds: 1 };
}

/**
 * What `seconds` of a call cost at `rate`: 0 for none (a call that never ran costs nothing), else
 * connectFee + ceil(billable × ratePerMinute ÷ 60), billable = the seconds raised to
 * minimumSeconds and then, when incrementSeconds > 1, up to a whole number of increments.
 * Increments of 1 s keep the exact per-second charge of CONTRACT §4.2 (from milliseconds: SQL
 * call_rate_cost takes fractional seconds; here, whole seconds). The one formula: SQL
 * call_rate_cost and includes/call-rate.lua repeat it (test/calls/hold-plan-parity.test.ts).
 */
export function callCost(rate: CallRate, seconds: number): number {
  assert(Number.isSafeInteger(seconds) && seconds >= 0, `call seconds must be a whole number >= 0, got ${seconds}`);
  if (seconds === 0) return 0;
  let billable = Math.max(seconds, rate.minimumSeconds);
  if (rate.incrementSeconds > 1) billable = Math.ceil(billable / rate.incrementSeconds) * rate.incrementSeconds;
  const amount = rate.connectFee + Math.ceil((billable * rate.ratePerMinute) / 60);
  assert(Number.isSafeInteger(amount), 'call cost overflow');
  return amount;
}

/** The whole seconds `amount` pays for at `rate`: the largest s with callCost(rate, s) ≤ amount. */
export function secondsPaid(rate: CallRate, amount: number): number {
  if (amount - rate.connectFee < 0) return 0;
  let seconds = Math.floor(((amount - rate.connectFee) * 60) / rate.ratePerMinute);
  if (rate.incrementSeconds > 1) seconds = Math.floor(seconds / rate.incrementSeconds) * rate.incrementSeconds;
  return seconds < rate.minimumSeconds ? 0 : seconds;
}

/** Whole seconds a call may last on `available` minor units, less a safety margin, within Vapi's bounds. */
export function maxDurationSeconds(pricing: Pricing, available: number, safetyMarginSeconds: number, rate: CallRate = defaultCallRate(pricing)): number {
  assert(Number.isSafeInteger(available), 'available must be an integer');
  const affordable = secondsPaid(rate, Math.max(available, 0)) - safetyMarginSeconds;
  return Math.min(VAPI_MAX_DURATION_SECONDS, Math.max(VAPI_MIN_DURATION_SECONDS, affordable));
}

/** The price of one provisioned phone number in CURRENCY, in minor units (PHONE_NUMBER_PRICE). */
export function phoneNumberPrice(pricing: Pricing): number {
  assert(Number.isSafeInteger(pricing.phoneNumberPrice) && pricing.phoneNumberPrice > 0, 'phone number price must be a positive integer');
  return pricing.phoneNumberPrice;
}

/**
 * Every price of a phone number, by currency (minor units of that currency): PHONE_NUMBER_PRICE
 * in CURRENCY plus PHONE_NUMBER_PRICES. An amount never travels without its currency, so a wallet
 * in a currency with no price is refused instead of being charged a number priced in another unit.
 */
export function phoneNumberPrices(pricing: Pricing): Record<string, number> {
  const prices: Record<string, number> = { ...(pricing.phoneNumberPrices ?? {}), [pricing.currency]: phoneNumberPrice(pricing) };
  for (const [currency, amount] of Object.entries(prices)) {
    assert(/^[a-z]{3}$/.test(currency) && Number.isSafeInteger(amount) && amount > 0, `bad phone number price ${currency}:${amount}`);
  }
  return prices;
}

/**
 * Every monthly rent of a phone number, by currency (CONTRACT §11): PHONE_NUMBER_MONTHLY_PRICE in
 * CURRENCY plus PHONE_NUMBER_MONTHLY_PRICES. phone_number_rent_charge picks the wallet's currency's
 * under the wallet lock, as the purchase does; config.ts refuses to start when a currency a number
 * can be bought in has no rent.
 */
export function phoneNumberMonthlyPrices(pricing: Pricing): Record<string, number> {
  const prices: Record<string, number> = { ...(pricing.phoneNumberMonthlyPrices ?? {}), [pricing.currency]: pricing.phoneNumberMonthlyPrice };
  for (const [currency, amount] of Object.entries(prices)) {
    assert(/^[a-z]{3}$/.test(currency) && Number.isSafeInteger(amount) && amount > 0, `bad monthly phone number price ${currency}:${amount}`);
  }
  return prices;
}

/** The monthly rent of a number in one currency, or undefined when that currency has none. */
export function phoneNumberMonthlyPrice(pricing: Pricing, currency: string): number | undefined {
  return phoneNumberMonthlyPrices(pricing)[currency];
}
