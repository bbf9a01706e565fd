// Vapi webhook authentication (CONTRACT §2): the shared secret in `x-vapi-secret` or as a
// Bearer token, compared in constant time; or, when VAPI_WEBHOOK_HMAC_SECRET is set,
// `x-signature` = hex HMAC-SHA256 of `{x-timestamp}.{raw body}` with a bounded clock skew.
import type { IncomingHttpHeaders } from 'node:http';
import express, { type Request, type Response } from 'express';
import { verifyTimestamped } from '../../shared/timestamped-hmac';
import { safeEqual } from './operator-auth';

export interface VapiAuthSettings {
  secret: string;
  hmacSecret: string | undefined;
  maxSkewSeconds: number;
}

/** Timestamps above this are milliseconds (Vapi does not document the unit). */
const MS_THRESHOLD = 100_000_000_000;

/**
 * True when the request carries the shared secret (no body needed). Takes the plain headers, not
 * an express request: the webhook's fast lane (api/webhook-fast-lane.ts) asks before express runs.
 */
export function hasSharedSecret(headers: IncomingHttpHeaders, s: VapiAuthSettings): boolean {
  const header = headers['x-vapi-secret'];
  if (typeof header === 'string' && safeEqual(header, s.secret)) return true;
  const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '');
  return bearer?.[1] !== undefined && safeEqual(bearer[1], s.secret);
}

/** True when the HMAC signature over the raw body is valid and fresh. */
export function hasValidSignature(req: Request, raw: Buffer, s: VapiAuthSettings, nowMs = Date.now()): boolean {
  if (s.hmacSecret === undefined) return false;
  const signature = req.get('x-signature');
  const timestamp = req.get('x-timestamp');
  if (!signature || !timestamp || !/^\d{1,16}$/.test(timestamp) || !/^(sha256=)?[0-9a-fA-F]{64}$/.test(signature)) return false;
  const n = Number(timestamp);
  const tsMs = n >= MS_THRESHOLD ? n : n * 1000;
  if (Math.abs(nowMs - tsMs) > s.maxSkewSeconds * 1000) return false;
  return verifyTimestamped(s.hmacSecret, timestamp, raw, signature.replace(/^sha256=/, ''));
}

/** Who a webhook request is: `body` is undefined when it was not read (no credentials) or unreadable. */
export type VapiCaller = { by: 'secret' | 'hmac' | undefined; body: Buffer | undefined; bodyError?: Error };

// One verdict per request, whoever asks first: the failed-authentication limiter must know before
// it decides (an HMAC needs the body, so counting "in flight" would count Vapi's good bursts), and
// the route then reuses the same verdict and body instead of reading the stream twice.
const verdicts = new WeakMap<Request, Promise<VapiCaller>>();

/**
 * Authenticates a webhook request, reading its raw body (at most `bodyBytes`) only when that can
 * matter: it carries the shared secret, or an `x-signature` with HMAC enabled. Never rejects.
 */
export function vapiAuthenticator(s: VapiAuthSettings, bodyBytes: number): (req: Request, res: Response) => Promise<VapiCaller> {
  const raw = express.raw({ type: () => true, limit: bodyBytes });
  const authenticate = async (req: Request, res: Response): Promise<VapiCaller> => {
    const bySecret = hasSharedSecret(req.headers, s);
    if (!bySecret && (s.hmacSecret === undefined || req.get('x-signature') === undefined)) return { by: undefined, body: undefined };
    const err = await new Promise<unknown>((resolve) => raw(req, res, resolve));
    if (err !== undefined) return { by: bySecret ? 'secret' : undefined, body: undefined, bodyError: err as Error };
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (bySecret) return { by: 'secret', body };
    return { by: hasValidSignature(req, body, s) ? 'hmac' : undefined, body };
  };
  return (req, res) => {
    let verdict = verdicts.get(req);
    if (verdict === undefined) {
      verdict = authenticate(req, res);
      verdicts.set(req, verdict);
    }
    return verdict;
  };
}
