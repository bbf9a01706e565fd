// The spend controls of one wallet as the cache and the gate see them (CONTRACT §8): frozen, the
// posted spend of one UTC day, and the operators' limits. Postgres keeps them on the wallet row
// (supabase/migrations/20261130001200_spend_controls.sql, wallet_controls_json); every SQL
// function that hands a wallet to the cache hands these with it, at the same version.
import { z } from 'zod';

export const MS_PER_DAY = 86_400_000;


export const LIMIT_NAMES = ['maxConcurrentCalls', 'dailySpendLimit', 'maxCallSeconds', 'maxNumbersPerDay'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface SpendLimits {
  maxConcurrentCalls: number | null;
  dailySpendLimit: number | null;
  maxCallSeconds: number | null;
  maxNumbersPerDay: number | null;
}

export interface WalletControls {
  frozen: boolean;
  /** Days since 1970-01-01 (UTC) whose posted spend `spend` is. */
  spendDay: number;
  spend: number;
  limits: SpendLimits;
}

const int = z.number().int();
export const walletControls = z
  .object({
    frozen: z.boolean(),
    spend_day: int,
    spend: int,
    max_concurrent_calls: int.nullable(),
    daily_spend_limit: int.nullable(),
    max_call_seconds: int.nullable(),
    max_numbers_per_day: int.nullable(),
  })
  .transform(
    (c): WalletControls => ({
      frozen: c.frozen,
      spendDay: c.spend_day,
      spend: c.spend,
      limits: {
        maxConcurrentCalls: c.max_concurrent_calls,
        dailySpendLimit: c.daily_spend_limit,
        maxCallSeconds: c.max_call_seconds,
        maxNumbersPerDay: c.max_numbers_per_day,
      },
    }),
  );

/**
 * The controls as the Lua scripts store them in the wallet hash, in this order: frozen ('1'|'0'),
 * spend_day, spend, lim_cc, lim_daily, lim_secs ('-1' = no limit). maxNumbersPerDay is not
 * cached: purchases are decided in Postgres only.
 */
export function controlsArgs(c: WalletControls): Array<string | number> {
  const l = (v: number | null) => (v === null ? -1 : v);
  return [c.frozen ? '1' : '0', c.spendDay, c.spend, l(c.limits.maxConcurrentCalls), l(c.limits.dailySpendLimit), l(c.limits.maxCallSeconds)];
}

/** A purchase refused by a control (SQL wallet_purchase_refusal): 403 wallet_frozen / limit_reached. */
export const spendRefusal = z.union([
  z.object({ outcome: z.literal('wallet_frozen'), replayed: z.boolean().default(false) }),
  z.object({ outcome: z.literal('limit_reached'), limit: z.enum(LIMIT_NAMES), replayed: z.boolean().default(false) }),
]);
export type SpendRefusal = z.output<typeof spendRefusal>;

/** A wallet with no limit set and nothing spent, not frozen (what a new wallet's controls are). */
export const NO_SPEND_CONTROLS: WalletControls = {
  frozen: false,
  spendDay: 0,
  spend: 0,
  limits: { maxConcurrentCalls: null, dailySpendLimit: null, maxCallSeconds: null, maxNumbersPerDay: null },
};
