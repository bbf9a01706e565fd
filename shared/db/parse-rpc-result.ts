// What a SQL function answered, checked against the shape its store expects. Every store over
// the SQL functions (ledger, calls, provisioning, money in, spend controls, rental, usage,
// outbound) reads its answers through this one check.
import type { z } from 'zod';

/** The answer of `fn` as `schema` reads it; a shape we did not expect from our own SQL is a programmer error: crash loudly. */
export function parseRpcResult<S extends z.ZodTypeAny>(schema: S, fn: string, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`invariant violated: ${fn} returned an unexpected shape: ${JSON.stringify(value)}`);
  return r.data;
}
