// Typed wrappers over the usage SQL functions (supabase/schemas/usage/, calls/functions/calls_list):
// the daily usage, the monthly statement's pages and the calls list (CONTRACT §12). Reads only;
// every figure is the SQL's, mapped from snake_case to camelCase here.
import { z } from 'zod';
import type { Rpc, RpcArgs } from '../db/rpc';
import { parseRpcResult } from '../db/parse-rpc-result';

const money = z.number().int();
const count = z.number().int().nonnegative();
const notFound = z.object({ outcome: z.literal('not_found') });

const usageDay = z
  .object({
    date: z.string(),
    calls: z.object({ count, seconds: count, amount: money }),
    numbers: z.object({ amount: money }),
    top_ups: z.object({ amount: money }),
    refunds: z.object({ amount: money }),
  })
  .transform((d) => ({ date: d.date, calls: d.calls, numbers: d.numbers, topUps: d.top_ups, refunds: d.refunds }));
const usageResult = z.union([z.object({ outcome: z.literal('found'), currency: z.string(), days: z.array(usageDay) }), notFound]);
export type Usage = Exclude<z.output<typeof usageResult>, { outcome: 'not_found' }>;

const statementEntry = z
  .object({ id: z.number().int(), created_at: z.string(), kind: z.string(), reference: z.string().nullable(), description: z.string(), amount: money, balance_after: money })
  .transform((e) => ({ id: e.id, createdAt: e.created_at, kind: e.kind, reference: e.reference, description: e.description, amount: e.amount, balanceAfter: e.balance_after }));
const statementHead = z
  .object({ through_id: z.number().int().nonnegative(), opening: money, closing: money, count, period_start: z.string(), period_end: z.string() })
  .transform((h) => ({ throughId: h.through_id, opening: h.opening, closing: h.closing, count: h.count, periodStart: h.period_start, periodEnd: h.period_end }));
const statementPage = z.union([
  z.object({ outcome: z.literal('found'), currency: z.string(), entries: z.array(statementEntry) }),
  notFound,
]);
export type StatementEntry = z.output<typeof statementEntry>;
export type StatementHead = z.output<typeof statementHead>;

const callItem = z
  .object({
    call_id: z.string(),
    admitted_at: z.string(),
    direction: z.enum(['inbound', 'outbound']),
    from: z.string().nullable(),
    to: z.string().nullable(),
    started_at: z.string(),
    ended_at: z.string().nullable(),
    seconds: count.nullable(),
    amount: money.nullable(),
    rate_per_minute: z.number().int().positive(),
    status: z.enum(['in_progress', 'ended', 'billed', 'not_billed']),
  })
  .transform((c) => ({
    callId: c.call_id,
    admittedAt: c.admitted_at,
    direction: c.direction,
    from: c.from,
    to: c.to,
    startedAt: c.started_at,
    endedAt: c.ended_at,
    seconds: c.seconds,
    amount: c.amount,
    ratePerMinute: c.rate_per_minute,
    status: c.status,
  }));
export type CallItem = z.output<typeof callItem>;

/** A keyset position: the time and the id of the last row of the previous page, as SQL gave them. */
export interface Keyset {
  at: string;
  id: string;
}

export interface UsageStore {
  /** Every UTC day from..to (YYYY-MM-DD, at most 366 days: the caller checks), or undefined without a wallet. */
  usage(orgId: string, from: string, to: string): Promise<Usage | undefined>;
  /**
   * One page of a month's statement (month = its first day, YYYY-MM-01). The first page (no
   * `throughId`) also carries the head: opening, closing and the cut every later page reads up to.
   */
  statementPage(input: { orgId: string; month: string; throughId: number | null; afterId: number | null; limit: number }): Promise<{ currency: string; head: StatementHead | undefined; entries: StatementEntry[] } | undefined>;
  /** One page of the organisation's calls, newest first. */
  listCalls(input: { orgId: string; before: Keyset | undefined; limit: number; ratePerMinute: number }): Promise<CallItem[]>;
}

export function createUsageStore(rpc: Rpc): UsageStore {
  const call = async <S extends z.ZodTypeAny>(schema: S, fn: string, args: RpcArgs) => parseRpcResult(schema, fn, await rpc.call(fn, args));
  return {
    async usage(orgId, from, to) {
      const r = await call(usageResult, 'wallet_usage', { p_org_id: orgId, p_from: from, p_to: to });
      return r.outcome === 'found' ? r : undefined;
    },
    async statementPage({ orgId, month, throughId, afterId, limit }) {
      const raw = await rpc.call('wallet_statement', { p_org_id: orgId, p_month: month, p_through_id: throughId, p_after_id: afterId, p_limit: limit });
      const r = parseRpcResult(statementPage, 'wallet_statement', raw);
      if (r.outcome === 'not_found') return undefined;
      const head = throughId === null ? parseRpcResult(statementHead, 'wallet_statement', raw) : undefined;
      return { currency: r.currency, head, entries: r.entries };
    },
    async listCalls({ orgId, before, limit, ratePerMinute }) {
      const r = await call(z.object({ items: z.array(callItem) }), 'calls_list', {
        p_org_id: orgId,
        p_before_admitted_at: before?.at ?? null,
        p_before_call_id: before?.id ?? null,
        p_limit: limit,
        p_rate_per_minute: ratePerMinute,
      });
      return r.items;
    },
  };
}
