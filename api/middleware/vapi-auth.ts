// Vapi webhook authentication (CONTRACT §2): the shared secret in `x-vapi-secret` or as a
// Bearer token, compared in constant time; or, when VAPI_WEBHOOK_HMAC_SECRET is set,
// `x-signature` = hex HMAC-SHA256 of `{x-timestamp}.{raw body}` with a bounded clock skew.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { safeEqual } from './operator-auth';

export interface VapiAuthSettings {
  secret: string;
  hmacSecret: string | undefined;
  maxSkewSeconds: number;
}

/** Timestamps above this are milliseconds (Vapi does not document the unit). */
const MS_THRESHOLD = 100_000_000_000;

/** True when the request carries the shared secret (no body needed). */
export function hasSharedSecret(req: Request, s: VapiAuthSettings): boolean {
  const header = req.get('x-vapi-secret');
  if (header !== undefined && safeEqual(header, s.secret)) return true;
  const bearer = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
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
  const expected = createHmac('sha256', s.hmacSecret).update(`${timestamp}.`).update(raw).digest();
  const given = Buffer.from(signature.replace(/^sha256=/, ''), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
