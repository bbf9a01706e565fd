// The rate table (CONTRACT §10) as the API reads it: the whole table, cached in this process for
// RATE_CACHE_MS, so GET /api/rates costs no database round trip per request. The gate does not
// read this: an inbound call's rate comes with its number (phone_number_resolve, cached with the
// number), an outbound call's from outbound_call_admit, both matched in SQL.
import { defaultCallRate, type CallRate, type Pricing } from '../pricing';
import { callRateOf, type RateRow } from './call-store';
import type { OutboundStore } from './outbound-store';

/** How long one process reuses the rate table it read (ms); a replaced table is seen within this. */
export const RATE_CACHE_MS = 5000;

export interface MatchedRate {
  rate: CallRate;
  blocked: boolean;
}

/** The row whose prefix is the longest prefix of `number`, as call_rate_match finds it. */
export function matchRate(rows: readonly RateRow[], number: string): RateRow | null {
  let best: RateRow | null = null;
  for (const row of rows) if (number.startsWith(row.prefix) && (best === null || row.prefix.length > best.prefix.length)) best = row;
  return best;
}

export function createCallRates(store: OutboundStore, pricing: Pricing, nowMs: () => number = Date.now) {
  let cached: { rows: RateRow[]; readAtMs: number } | undefined;
  async function table(): Promise<RateRow[]> {
    if (cached === undefined || nowMs() - cached.readAtMs >= RATE_CACHE_MS) cached = { rows: await store.rates(), readAtMs: nowMs() };
    return cached.rows;
  }
  return {
    table,
    /** The matched row as a rate (the default when none matches), and whether it is blocked. */
    async match(number: string): Promise<MatchedRate> {
      const row = matchRate(await table(), number);
      return { rate: callRateOf(row, defaultCallRate(pricing)), blocked: row?.blocked ?? false };
    },
    async replace(rows: RateRow[]): Promise<RateRow[]> {
      const stored = await store.putRates(rows);
      cached = { rows: stored, readAtMs: nowMs() };
      return stored;
    },
  };
}

export type CallRates = ReturnType<typeof createCallRates>;
