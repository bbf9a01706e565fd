// The two data adapters. Every read and write is a SQL function (supabase/migrations), so an
// adapter only has to call a function by name with named arguments and hand back its jsonb:
// node-postgres with DATABASE_URL, supabase-js RPC (PostgREST) with SUPABASE_URL.
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import type { Pool } from 'pg';

/** The SQL functions the service calls; nothing else can be named. */
export type RpcFunction =
  | 'org_create'
  | 'wallet_get'
  | 'wallet_credit'
  | 'wallet_debit_for_purchase'
  | 'wallet_refund'
  | 'wallet_charge_call'
  | 'ledger_list'
  | 'phone_number_register'
  | (string & { readonly __extension?: never });

/**
 * Arguments: scalars, a list of strings (a Postgres array, e.g. uuid[]) or a flat object of
 * numbers (jsonb, e.g. prices by currency). node-postgres serialises arrays as Postgres arrays
 * and objects as JSON; supabase-js sends both as JSON, which PostgREST maps the same way.
 */
export type RpcArgs = Record<string, string | number | boolean | null | readonly string[] | Readonly<Record<string, number>>>;

/** The database could not be reached or answered with an error we did not expect. */
export class DataUnavailableError extends Error {
  override name = 'DataUnavailableError';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

export interface Rpc {
  readonly kind: 'postgres' | 'supabase';
  call(fn: RpcFunction, args: RpcArgs): Promise<unknown>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Distinct statements one process prepares (function × argument names; a few dozen in practice). */
const MAX_PREPARED = 500;

// Each call shape (function and argument names, in order) is one named statement: node-postgres
// prepares it once per connection (Parse) and afterwards only binds and executes it, so Postgres
// no longer parses and plans the `select public.fn(...)` text on every call (issue 15: the
// fallback path's call_gate_admit). Names are numbered for the whole process, not per pgRpc, so
// two adapters over one pool can never give one name two texts; a statement that fails to parse
// is not remembered by node-postgres (it is parsed again next time).
const prepared = new Map<string, { name: string | undefined; text: string }>();

function statement(fn: string, names: string[]): { name: string | undefined; text: string } {
  const key = `${fn}(${names.join(',')})`;
  let st = prepared.get(key);
  if (st === undefined) {
    if (!NAME.test(fn)) throw new Error(`bad function name ${fn}`);
    for (const n of names) if (!NAME.test(n)) throw new Error(`bad argument name ${n}`);
    const params = names.map((n, i) => `${n} => $${i + 1}`).join(', ');
    // Past the bound (never expected) statements still work, unnamed: parsed every time as before.
    st = { name: prepared.size < MAX_PREPARED ? `rpc_${prepared.size + 1}_${fn}`.slice(0, 63) : undefined, text: `select public.${fn}(${params}) as result` };
    if (st.name !== undefined) prepared.set(key, st);
  }
  return st;
}

export function pgRpc(pool: Pool, options: { ownsPool?: boolean } = {}): Rpc {
  return {
    kind: 'postgres',
    async call(fn, args) {
      const names = Object.keys(args);
      const st = statement(fn, names);
      try {
        const res = await pool.query<{ result: unknown }>({ name: st.name, text: st.text, values: names.map((n) => args[n]) });
        return res.rows[0]?.result;
      } catch (err) {
        throw new DataUnavailableError(`${fn} failed: ${(err as Error).message}`, err);
      }
    },
    async ping() {
      try {
        await pool.query('select 1');
      } catch (err) {
        throw new DataUnavailableError(`postgres ping failed: ${(err as Error).message}`, err);
      }
    },
    async close() {
      if (options.ownsPool !== false) await pool.end();
    },
  };
}

/**
 * supabase-js builds a Realtime client in createClient, and on Node 20 (no global WebSocket) that
 * throws before any RPC is made. This service never subscribes to Realtime, so it gets a transport
 * that refuses to open: the client can be built, and any accidental subscription fails loudly.
 */
class NoRealtimeTransport {
  constructor() {
    throw new Error('invariant violated: billing-gates does not use Supabase Realtime');
  }
}
type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

export function supabaseRpc(url: string, serviceRoleKey: string, client?: SupabaseClient): Rpc {
  const supabase =
    client ??
    createClient(url, serviceRoleKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      realtime: { transport: NoRealtimeTransport as unknown as RealtimeTransport },
    });
  return {
    kind: 'supabase',
    async call(fn, args) {
      const { data, error } = await supabase.rpc(fn, args);
      if (error) throw new DataUnavailableError(`${fn} failed: ${error.message}`, error);
      return data;
    },
    async ping() {
      const { error } = await supabase.rpc('wallet_get', { p_org_id: '00000000-0000-0000-0000-000000000000' });
      if (error) throw new DataUnavailableError(`supabase ping failed: ${error.message}`, error);
    },
    async close() {
      // Nothing to release: RPCs are plain HTTP requests and Realtime is never opened. (Calling
      // removeAllChannels() here would leave a 10 s disconnect timer running on a closed client.)
    },
  };
}
