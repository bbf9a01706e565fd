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

/** Whole seconds a call may last on `available` minor units, less a safety margin, within Vapi's bounds. */
export function maxDurationSeconds(pricing: Pricing, available: number, safetyMarginSeconds: number): number {
  assert(Number.isSafeInteger(available), 'available must be an integer');
  const affordable = Math.floor((Math.max(available, 0) * 60) / pricing.callRatePerMinute) - safetyMarginSeconds;
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
