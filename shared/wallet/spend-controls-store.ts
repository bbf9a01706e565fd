// Typed wrappers over the spend-control SQL functions (supabase/migrations/20261130001200_spend_controls.sql):
// the operators' limits and the freeze. Each answers with the wallet at its new version and its
// controls, which the caller writes through to the cache (the version guard keeps it exact).
import { z } from 'zod';
import { cachedBalance } from '../cache/cached-balance';
import { parseRpcResult } from '../db/parse-rpc-result';
import type { Rpc } from '../db/rpc';
import { walletControls, type SpendLimits } from './wallet-controls';

const int = z.number().int();
const orgLimits = z
  .object({
    outcome: z.enum(['found', 'frozen', 'already_frozen', 'unfrozen', 'not_frozen']),
    org_id: z.string(),
    limits: z.object({
      max_concurrent_calls: int.nullable(),
      daily_spend_limit: int.nullable(),
      max_call_seconds: int.nullable(),
      max_numbers_per_day: int.nullable(),
    }),
    frozen: z.boolean(),
    frozen_reason: z.string().nullable(),
    ...cachedBalance.shape,
    controls: walletControls,
  })
  .transform((r) => ({
    outcome: r.outcome,
    orgId: r.org_id,
    limits: {
      maxConcurrentCalls: r.limits.max_concurrent_calls,
      dailySpendLimit: r.limits.daily_spend_limit,
      maxCallSeconds: r.limits.max_call_seconds,
      maxNumbersPerDay: r.limits.max_numbers_per_day,
    } satisfies SpendLimits,
    frozen: r.frozen,
    frozenReason: r.frozen_reason,
    /** The wallet at this version, for the cache write-through. */
    wallet: { balance: r.balance, version: r.version, currency: r.currency, controls: r.controls },
  }));
const result = z.union([orgLimits, z.object({ outcome: z.literal('not_found') })]);
export type OrgControls = Exclude<z.output<typeof result>, { outcome: 'not_found' }>;

function parse(fn: string, value: unknown): OrgControls | undefined {
  const r = parseRpcResult(result, fn, value);
  return r.outcome === 'not_found' ? undefined : r;
}

export function createSpendControlsStore(rpc: Rpc) {
  return {
    async get(orgId: string): Promise<OrgControls | undefined> {
      return parse('org_limits_get', await rpc.call('org_limits_get', { p_org_id: orgId }));
    },
    /** Replaces all four limits (null = none) and bumps the wallet version. */
    async set(orgId: string, l: SpendLimits): Promise<OrgControls | undefined> {
      const raw = await rpc.call('org_limits_set', {
        p_org_id: orgId,
        p_max_concurrent_calls: l.maxConcurrentCalls,
        p_daily_spend_limit: l.dailySpendLimit,
        p_max_call_seconds: l.maxCallSeconds,
        p_max_numbers_per_day: l.maxNumbersPerDay,
      });
      return parse('org_limits_set', raw);
    },
    /** `source`: who froze it ('operator' here; 'stripe_dispute' for a Stripe dispute). */
    async freeze(orgId: string, reason: string, source: string): Promise<OrgControls | undefined> {
      return parse('wallet_freeze', await rpc.call('wallet_freeze', { p_org_id: orgId, p_reason: reason, p_source: source }));
    },
    async unfreeze(orgId: string, source: string): Promise<OrgControls | undefined> {
      return parse('wallet_unfreeze', await rpc.call('wallet_unfreeze', { p_org_id: orgId, p_source: source }));
    },
  };
}

export type SpendControlsStore = ReturnType<typeof createSpendControlsStore>;
