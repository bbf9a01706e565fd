// A PostgREST-compatible stand-in for Supabase's Data API, for tests only (never shipped): just the
// RPC calls the supabase-js adapter makes, nothing more. It does what Supabase's gateway and
// PostgREST do for `POST /rest/v1/rpc/:fn`:
//   1. the gateway wants an `apikey` that is a JWT signed with the project's secret (else 401);
//   2. PostgREST verifies `Authorization: Bearer <JWT>` (HS256; falls back to the apikey), takes the
//      claim `role` (none → anon), and refuses a bad token with 401 PGRST301;
//   3. it finds the function in its schema cache by name and argument names (else 404 PGRST202);
//   4. on a pooled connection, in one transaction: `set local role <role>`, the claims in
//      `request.jwt.claims`, and `select public.fn(p_x := ...)` with the arguments typed through
//      json_to_record, as PostgREST builds the call;
//   5. it answers the function's JSON as rendered by Postgres (int8 stays a JSON number), or an
//      error `{code, details, hint, message}` with PostgREST's status for the SQLSTATE
//      (docs.postgrest.org, references/errors: "HTTP Status Codes").
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenLocal } from '../../sandbox/listen';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { Pool, type PoolClient } from 'pg';

/** The roles Supabase's authenticator may switch to; any other `role` claim is refused. */
export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export const DEFAULT_POOL_SIZE = 25;
export const MAX_BODY_BYTES = 1_000_000;

export interface PostgrestServer {
  /** The project URL to give supabase-js (SUPABASE_URL). */
  url: string;
  keys: { anon: string; serviceRole: string };
  /** Functions the server has called in `set local role` transactions, by role (for assertions). */
  calls: Record<ApiRole, number>;
  /** Transactions open in Postgres right now, and the most ever open at once. */
  concurrency: { inFlight: number; max: number };
  close(): Promise<void>;
}

/** An API key as Supabase issues them: an HS256 JWT with the role claim. */
export async function apiKey(secret: string, role: string, options: { expiresIn?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ role, iss: 'supabase-test' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  if (options.expiresIn) jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

interface PgrstError {
  code: string;
  details: string | null;
  hint: string | null;
  message: string;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: PgrstError | { message: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

/** PostgREST's SQLSTATE → HTTP status map; `authenticated` means the role is not the anon role. */
export function statusForSqlState(code: string, authenticated: boolean): number {
  const exact: Record<string, number> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '53400': 500,
    P0001: 400,
    '42883': 404,
    '42P01': 404,
    '42P17': 500,
    '42501': authenticated ? 403 : 401,
  };
  if (exact[code] !== undefined) return exact[code];
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  const byClass: Record<string, number> = {
    '08': 503,
    '09': 500,
    '0L': 403,
    '0P': 403,
    '25': 500,
    '28': 403,
    '2D': 500,
    '38': 500,
    '39': 500,
    '3B': 500,
    '40': 500,
    '53': 503,
    '54': 500,
    '55': 500,
    '57': 500,
    '58': 500,
    F0: 500,
    HV: 500,
    P0: 500,
    XX: 500,
  };
  return byClass[code.slice(0, 2)] ?? 400;
}

interface FunctionSignature {
  name: string;
  argNames: string[];
  argTypes: string[];
  /** The trailing arguments with defaults may be omitted. */
  defaults: number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

async function loadSchemaCache(pool: Pool): Promise<FunctionSignature[]> {
  const res = await pool.query<{ name: string; arg_names: string[] | null; arg_types: string[]; defaults: number }>(
    `select p.proname as name, p.proargnames as arg_names,
            array(select format_type(t, null) from unnest(p.proargtypes::oid[]) t) as arg_types,
            p.pronargdefaults as defaults
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.prokind = 'f' and p.proargmodes is null and not p.proretset`,
  );
  return res.rows.map((r) => ({ name: r.name, argNames: (r.arg_names ?? []).slice(0, r.arg_types.length), argTypes: r.arg_types, defaults: r.defaults }));
}

/** PostgREST's overload choice: every key names a parameter and every required one is given. */
function chooseFunction(cache: FunctionSignature[], name: string, keys: string[]): FunctionSignature[] {
  return cache.filter((f) => {
    if (f.name !== name) return false;
    if (!keys.every((k) => f.argNames.includes(k))) return false;
    const required = f.argNames.slice(0, f.argNames.length - f.defaults);
    return required.every((r) => keys.includes(r));
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpFailure(413, { code: 'PGRST102', details: null, hint: null, message: 'Request body too large' }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(body);
}

export async function startPostgrestServer(options: { databaseUrl: string; jwtSecret: string; poolSize?: number }): Promise<PostgrestServer> {
  const pool = new Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? DEFAULT_POOL_SIZE, application_name: 'postgrest-test' });
  pool.on('error', () => undefined);
  const secret = new TextEncoder().encode(options.jwtSecret);
  const calls: Record<ApiRole, number> = { anon: 0, authenticated: 0, service_role: 0 };
  const concurrency = { inFlight: 0, max: 0 };
  let cache: FunctionSignature[] | undefined;

  async function claimsOf(token: string): Promise<Record<string, unknown>> {
    try {
      return (await jwtVerify(token, secret, { algorithms: ['HS256'] })).payload;
    } catch (err) {
      const message = err instanceof joseErrors.JWTExpired ? 'JWT expired' : 'JWSError JWSInvalidSignature';
      throw new HttpFailure(401, { code: 'PGRST301', details: null, hint: null, message }, { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message}"` });
    }
  }

  async function authenticate(req: IncomingMessage): Promise<{ role: ApiRole; claims: Record<string, unknown> }> {
    // Supabase's gateway: an API key is required and must be one of the project's.
    const key = req.headers.apikey;
    if (typeof key !== 'string' || key === '') throw new HttpFailure(401, { message: 'No API key found in request' });
    try {
      await jwtVerify(key, secret, { algorithms: ['HS256'] });
    } catch {
      throw new HttpFailure(401, { message: 'Invalid API key' });
    }
    const auth = req.headers.authorization;
    const bearer = auth ? /^Bearer (.+)$/i.exec(auth)?.[1] : key;
    if (!bearer) throw new HttpFailure(401, { code: 'PGRST301', details: null, hint: null, message: 'Authorization header is not a Bearer token' });
    const claims = await claimsOf(bearer);
    const role = claims.role ?? 'anon';
    if (typeof role !== 'string' || !(API_ROLES as readonly string[]).includes(role)) {
      throw new HttpFailure(401, { code: 'PGRST301', details: null, hint: null, message: `role "${String(role)}" is not allowed` });
    }
    return { role: role as ApiRole, claims };
  }

  async function resolve(name: string, keys: string[]): Promise<FunctionSignature> {
    cache ??= await loadSchemaCache(pool);
    let found = chooseFunction(cache, name, keys);
    if (found.length === 0) {
      // A function created after the cache was built (PostgREST reloads on NOTIFY; we on a miss).
      cache = await loadSchemaCache(pool);
      found = chooseFunction(cache, name, keys);
    }
    if (found.length === 0) {
      throw new HttpFailure(404, {
        code: 'PGRST202',
        details: `Searched for the function public.${name} with parameters ${keys.sort().join(', ') || '(none)'} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
        hint: null,
        message: `Could not find the function public.${name}(${keys.sort().join(', ')}) in the schema cache`,
      });
    }
    if (found.length > 1) {
      throw new HttpFailure(300, { code: 'PGRST203', details: null, hint: 'Try renaming the parameters or the function itself in the database so function overloading can be resolved', message: `Could not choose the best candidate function between several public.${name}` });
    }
    return found[0]!;
  }

  async function run(client: PoolClient, role: ApiRole, claims: Record<string, unknown>, fn: FunctionSignature, body: Record<string, unknown>): Promise<string> {
    const keys = Object.keys(body);
    const columns = keys.map((k) => `"${k}" ${fn.argTypes[fn.argNames.indexOf(k)]}`).join(', ');
    const args = keys.map((k) => `"${k}" := a."${k}"`).join(', ');
    const sql =
      keys.length === 0
        ? `select to_json(public."${fn.name}"())::text as body`
        : `select to_json(public."${fn.name}"(${args}))::text as body from json_to_record($1::json) as a(${columns})`;
    await client.query('begin isolation level read committed');
    concurrency.inFlight += 1;
    concurrency.max = Math.max(concurrency.max, concurrency.inFlight);
    try {
      await client.query(`set local role ${role}`);
      await client.query(`select set_config('request.jwt.claims', $1, true), set_config('request.method', 'POST', true)`, [JSON.stringify(claims)]);
      calls[role] += 1;
      const res = await client.query<{ body: string | null }>(sql, keys.length === 0 ? [] : [JSON.stringify(body)]);
      await client.query('commit');
      return res.rows[0]?.body ?? 'null';
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      concurrency.inFlight -= 1;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const match = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(path);
    if (!match) throw new HttpFailure(404, { code: 'PGRST125', details: null, hint: null, message: `Invalid path specified in request URL` });
    if (req.method !== 'POST') throw new HttpFailure(405, { code: 'PGRST101', details: null, hint: null, message: 'Only POST is supported by this test server for functions' });
    const { role, claims } = await authenticate(req);
    const profile = req.headers['content-profile'];
    if (profile !== undefined && profile !== 'public') {
      throw new HttpFailure(406, { code: 'PGRST106', details: null, hint: null, message: 'The schema must be one of the following: public' });
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw === '' ? {} : JSON.parse(raw);
    } catch {
      throw new HttpFailure(400, { code: 'PGRST102', details: null, hint: null, message: 'Empty or invalid json' });
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpFailure(400, { code: 'PGRST102', details: null, hint: null, message: 'The request body must be a JSON object of named arguments' });
    }
    const name = decodeURIComponent(match[1]!);
    const keys = Object.keys(body);
    if (!IDENT.test(name) || !keys.every((k) => IDENT.test(k))) {
      throw new HttpFailure(404, { code: 'PGRST202', details: null, hint: null, message: `Could not find the function public.${name} in the schema cache` });
    }
    const fn = await resolve(name, keys);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new HttpFailure(503, { code: 'PGRST000', details: (err as Error).message, hint: null, message: 'Could not connect with the database' });
    }
    try {
      const result = await run(client, role, claims, fn, body as Record<string, unknown>);
      send(res, 200, result);
    } catch (err) {
      const e = err as { code?: string; detail?: string; hint?: string; message: string };
      if (typeof e.code !== 'string') throw err;
      const pg: PgrstError = { code: e.code, details: e.detail ?? null, hint: e.hint ?? null, message: e.message };
      throw new HttpFailure(statusForSqlState(e.code, role !== 'anon'), pg);
    } finally {
      client.release();
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpFailure) {
        send(res, err.status, JSON.stringify(err.body), err.headers);
        return;
      }
      send(res, 500, JSON.stringify({ code: 'PGRSTX00', details: null, hint: null, message: (err as Error).message }));
    });
  });
  server.keepAliveTimeout = 5000;
  const listening = await listenLocal(server);

  return {
    url: listening.url,
    keys: { anon: await apiKey(options.jwtSecret, 'anon'), serviceRole: await apiKey(options.jwtSecret, 'service_role') },
    calls,
    concurrency,
    async close() {
      await listening.close();
      await pool.end();
    },
  };
}
