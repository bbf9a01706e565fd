// Dashboard JWTs, verified locally: HS256 with the Supabase JWT secret, or a JWKS. The
// organisation is app_metadata.org_id. Any token problem is 401; a good token with no org is 403.
import type { Request, RequestHandler } from 'express';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../../shared/config';
import { AppError } from '../../shared/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TOKEN_CHARS = 8192;

export interface DashboardCaller {
  orgId: string;
  subject: string | undefined;
}

const callers = new WeakMap<Request, DashboardCaller>();

export function dashboardCaller(req: Request): DashboardCaller {
  const caller = callers.get(req);
  if (!caller) throw new Error('invariant violated: dashboardCaller() used on a route without requireDashboard');
  return caller;
}

type Verdict = DashboardCaller | AppError;
// One verdict per request, whoever asks first: the failed-authentication limiter must know before
// it decides (counting tokens "in flight" would count a dashboard's good bursts), and the route
// then reuses it instead of verifying the token twice. One verifier (and JWKS cache) per config.
const verdicts = new WeakMap<Request, Promise<Verdict>>();
const verifiers = new WeakMap<Config['auth']['jwt'], (token: string) => Promise<{ payload: Record<string, unknown> }>>();

function verifierFor(jwt: Config['auth']['jwt']) {
  let verify = verifiers.get(jwt);
  if (verify === undefined) {
    if (jwt.kind === 'secret') {
      const key = new TextEncoder().encode(jwt.secret);
      verify = (token) => jwtVerify(token, key, { algorithms: ['HS256'] });
    } else {
      const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwt.url), { timeoutDuration: 2000, cooldownDuration: 30_000 });
      verify = (token) => jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256', 'EdDSA'] });
    }
    verifiers.set(jwt, verify);
  }
  return verify;
}

async function verdictFor(req: Request, verify: (token: string) => Promise<{ payload: Record<string, unknown> }>): Promise<Verdict> {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(header);
  if (!match || !match[1] || match[1].length > MAX_TOKEN_CHARS) {
    return new AppError('unauthorized', 'A valid Bearer token is required.');
  }
  let payload: Record<string, unknown>;
  try {
    payload = (await verify(match[1])).payload;
  } catch {
    return new AppError('unauthorized', 'The token is invalid or expired.');
  }
  const meta = payload.app_metadata;
  const orgId = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>).org_id : undefined;
  if (typeof orgId !== 'string' || !UUID.test(orgId)) {
    return new AppError('forbidden', 'The token does not belong to an organisation.');
  }
  return { orgId: orgId.toLowerCase(), subject: typeof payload.sub === 'string' ? payload.sub : undefined };
}

/** The request's dashboard caller, or the 401/403 it gets. Verified once per request; never rejects. */
export function dashboardAuthenticator(jwt: Config['auth']['jwt']): (req: Request) => Promise<Verdict> {
  const verify = verifierFor(jwt);
  return (req) => {
    let verdict = verdicts.get(req);
    if (verdict === undefined) {
      verdict = verdictFor(req, verify);
      verdicts.set(req, verdict);
    }
    return verdict;
  };
}

export function requireDashboard(jwt: Config['auth']['jwt']): RequestHandler {
  const authenticate = dashboardAuthenticator(jwt);
  return async (req, _res, next) => {
    const verdict = await authenticate(req);
    if (verdict instanceof AppError) throw verdict;
    callers.set(req, verdict);
    next();
  };
}
