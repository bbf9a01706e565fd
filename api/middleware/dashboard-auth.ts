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

export function requireDashboard(jwt: Config['auth']['jwt']): RequestHandler {
  const verify =
    jwt.kind === 'secret'
      ? (() => {
          const key = new TextEncoder().encode(jwt.secret);
          return (token: string) => jwtVerify(token, key, { algorithms: ['HS256'] });
        })()
      : (() => {
          const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwt.url), { timeoutDuration: 2000, cooldownDuration: 30_000 });
          return (token: string) => jwtVerify(token, jwks, { algorithms: ['RS256', 'ES256', 'EdDSA'] });
        })();

  return async (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(header);
    if (!match || !match[1] || match[1].length > MAX_TOKEN_CHARS) {
      throw new AppError('unauthorized', 'A valid Bearer token is required.');
    }
    let payload: Record<string, unknown>;
    try {
      payload = (await verify(match[1])).payload;
    } catch {
      throw new AppError('unauthorized', 'The token is invalid or expired.');
    }
    const meta = payload.app_metadata;
    const orgId = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>).org_id : undefined;
    if (typeof orgId !== 'string' || !UUID.test(orgId)) {
      throw new AppError('forbidden', 'The token does not belong to an organisation.');
    }
    callers.set(req, { orgId: orgId.toLowerCase(), subject: typeof payload.sub === 'string' ? payload.sub : undefined });
    next();
  };
}
