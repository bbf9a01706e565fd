// Shared pieces of the property-based HTTP tests (test/fuzz): a real listening server per file,
// a raw HTTP client (exact bytes and headers, nothing normalised), the hostile-input generators,
// and the two things every fuzzed request must leave true: the answer is never a 5xx (a 4xx always
// carries the JSON error body), and the ledger did not move.
import fc from 'fast-check';
import type { Pool } from 'pg';
import { startServer, type RunningServer } from '../../api/server';
import type { TestContext } from './context';

/** Bounded so that the whole suite stays fast on two cores; a fixed seed makes failures replayable. */
const DEFAULT_RUNS = 120;
export const FUZZ = {
  seed: Number(process.env.FUZZ_SEED ?? 20261123),
  /** FUZZ_RUNS scales every property's run count in proportion (e.g. 1200 = ten times as many). */
  numRuns: Number(process.env.FUZZ_RUNS ?? DEFAULT_RUNS),
} as const;
export const fuzzParams = (numRuns: number = DEFAULT_RUNS) => ({
  seed: FUZZ.seed,
  numRuns: Math.max(1, Math.round((numRuns * FUZZ.numRuns) / DEFAULT_RUNS)),
  endOnFailure: true,
});

export interface Reply {
  status: number;
  text: string;
  json: unknown;
}

export interface FuzzServer {
  url: string;
  send(method: string, path: string, options?: { headers?: Record<string, string>; body?: string | Uint8Array }): Promise<Reply>;
  close(): Promise<void>;
}

export async function listen(ctx: TestContext): Promise<FuzzServer> {
  const running: RunningServer = await startServer(ctx.app(), 0, '127.0.0.1');
  const url = `http://127.0.0.1:${running.port}`;
  return {
    url,
    async send(method, path, options = {}) {
      const res = await fetch(url + path, { method, headers: options.headers, body: options.body });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    },
    close: () => running.close(1000),
  };
}

/** Never a 5xx; a 4xx is `{"error":"<snake_case>","message":"..."}`. Returns the reply for chaining. */
export function expectHandled(reply: Reply, what: string): Reply {
  if (reply.status >= 500) throw new Error(`${what} → ${reply.status} ${reply.text.slice(0, 300)}`);
  if (reply.status >= 400) {
    const body = reply.json as { error?: unknown; message?: unknown } | undefined;
    if (typeof body?.error !== 'string' || !/^[a-z][a-z0-9_]*$/.test(body.error) || typeof body.message !== 'string' || body.message === '') {
      throw new Error(`${what} → ${reply.status} without the JSON error body: ${reply.text.slice(0, 300)}`);
    }
  }
  return reply;
}

export function expectClientError(reply: Reply, what: string): void {
  expectHandled(reply, what);
  if (reply.status < 400) throw new Error(`${what} was accepted with ${reply.status}: ${reply.text.slice(0, 300)}`);
}

/** Number of ledger entries and the sum of all balances: any money movement changes one of them. */
export async function ledgerState(pool: Pool): Promise<{ entries: number; total: number; version: number }> {
  const r = await pool.query<{ entries: number; total: number; version: number }>(
    `select (select count(*) from ledger_entries)::int as entries,
            (select coalesce(sum(balance), 0) from wallets)::bigint as total,
            (select coalesce(sum(version), 0) from wallets)::bigint as version`,
  );
  return r.rows[0]!;
}

// ---- generators ------------------------------------------------------------------------------

/** Any text, including lone surrogates, control characters, RTL marks and emoji. */
export const anyText = (maxLength = 60) => fc.string({ unit: 'binary', maxLength });

/** Amounts a money endpoint must refuse: negative, zero, fractional, huge, non-numbers. */
export const badAmount: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 100_000_001 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e21, 1e308, -0, 0.5, 999.999, 1000.0000001),
  fc.double({ noInteger: true }),
  fc.double({ min: 1e9, noNaN: true }),
  fc.constantFrom('100', '1e3', '0x10', ' 100', 'NaN', 'Infinity', '', null, true, false, [], [100], {}, { value: 100 }),
  anyText(10),
);

/** A JSON value nested `depth` levels deep, as a string (JSON.stringify would recurse as deep). */
export function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Bodies that are not what any endpoint wants: malformed, truncated, wrong-typed, deep, odd. */
export const hostileBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 2, arbitrary: anyText(200) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((j) => j.slice(0, Math.max(0, j.length - 1))) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).chain((d) => fc.constantFrom(nested(d, 'array'), nested(d, 'object'))) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', 'true', '0', '"x"', '[]', '{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '\u0000', '\ufeff{}') },
);

/** One character an HTTP header value can carry to the app: tab, printable ASCII, latin-1. */
const headerChar = fc.oneof(fc.constant('\t'), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)));

/** Idempotency-Key values the contract refuses (1-255 visible ASCII): none, empty, too long, spaces, 8-bit. */
export const badIdempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(''),
  fc.integer({ min: 256, max: 4000 }).map((n) => 'k'.repeat(n)),
  fc.string({ unit: headerChar, minLength: 1, maxLength: 20 }).filter((s) => /[^\x21-\x7e]/.test(s)).map((s) => `a${s}b`),
  fc.constantFrom('has space', 'tab\tkey', 'caf\u00e9', '\u00ff\u00fe'),
);

/** Printable latin-1 text, the widest a fetch() header value can carry. */
export const headerText = (maxLength = 80) => fc.string({ unit: headerChar, maxLength }).map((s) => s.trim());
