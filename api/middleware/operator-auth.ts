// Operators: Authorization: Bearer <ADMIN_TOKEN>, or (for Bull Board in a browser) basic auth
// as user "admin". Compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors';

// The digests of the configured secrets (a handful per process), so that checking a request hashes
// only what it presented: the webhook compares its secret on every call.
const secretDigests = new Map<string, Buffer>();
const MAX_REMEMBERED_SECRETS = 16;

/** Constant-time string equality (hashing first makes the lengths equal). `b` is the configured secret. */
export function safeEqual(a: string, b: string): boolean {
  let hb = secretDigests.get(b);
  if (hb === undefined) {
    hb = createHash('sha256').update(b).digest();
    if (secretDigests.size < MAX_REMEMBERED_SECRETS) secretDigests.set(b, hb);
  }
  const ha = createHash('sha256').update(a).digest();
  return timingSafeEqual(ha, hb);
}

export function operatorTokenFrom(header: string | undefined, allowBasic: boolean): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer (.+)$/.exec(header);
  if (bearer) return bearer[1];
  const basic = allowBasic ? /^Basic ([A-Za-z0-9+/=]+)$/.exec(header) : null;
  if (basic && basic[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0 && decoded.slice(0, colon) === 'admin') return decoded.slice(colon + 1);
  }
  return undefined;
}

export function requireOperator(adminToken: string, options: { allowBasic?: boolean } = {}): RequestHandler {
  return (req, res, next) => {
    const token = operatorTokenFrom(req.get('authorization'), options.allowBasic ?? false);
    if (token !== undefined && safeEqual(token, adminToken)) {
      next();
      return;
    }
    if (options.allowBasic) res.set('WWW-Authenticate', 'Basic realm="billing-gates operators"');
    throw new AppError('unauthorized', 'Operator credentials are required.');
  };
}
