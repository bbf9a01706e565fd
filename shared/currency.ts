// Minor units as decimals of their currency (the statement's CSV, CONTRACT §12): how many digits
// a currency's minor unit has, and an exact decimal string of an integer amount. No float is ever
// involved: the digits are moved, not divided.
import { assert } from './errors';

// Amounts are Stripe's integers, so the exponent is Stripe's: its zero-decimal and three-decimal
// currencies (stripe.com/docs/currencies); every other currency has two digits (gbp, usd, eur, …).
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Digits of the currency's minor unit: 2 for gbp (1234 → 12.34), 0 for jpy, 3 for kwd. */
export function minorUnitDigits(currency: string): number {
  assert(/^[a-z]{3}$/.test(currency), `currency must be three lower-case letters, got ${currency}`);
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/** An integer of minor units as an exact decimal of its currency: (-1234, 'gbp') → "-12.34". */
export function decimalOf(minor: number, currency: string): string {
  assert(Number.isSafeInteger(minor), `money must be an integer of minor units, got ${minor}`);
  const digits = minorUnitDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(minor)).padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}
