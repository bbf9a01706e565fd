// The timestamped HMAC, signed and checked here only: hex HMAC-SHA256 under a shared secret of
// "<timestamp>.<raw body>". Wallet events go out with it as `t=<unix seconds>,v1=<hex>`
// (Billing-Gates-Signature, CONTRACT §7); a Vapi webhook may come with it as `x-timestamp` and
// `x-signature` (api/middleware/vapi-auth.ts). Stripe's signatures are the stripe library's.
import { createHmac, timingSafeEqual } from 'node:crypto';

function digest(secret: string, timestamp: string | number, body: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/** The hex HMAC-SHA256 of "<timestamp>.<body>". */
export function signTimestamped(secret: string, timestamp: string | number, body: string | Buffer): string {
  return digest(secret, timestamp, body).toString('hex');
}

/** True when `signatureHex` is the HMAC of "<timestamp>.<body>" (compared in constant time). Freshness is the caller's. */
export function verifyTimestamped(secret: string, timestamp: string | number, body: string | Buffer, signatureHex: string): boolean {
  const expected = digest(secret, timestamp, body);
  const given = Buffer.from(signatureHex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">`. */
export function signatureHeader(secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${nowSeconds},v1=${signTimestamped(secret, nowSeconds, body)}`;
}

const HEADER = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/;

/** True when `header` is a well-formed `t=…,v1=…` whose HMAC matches `body`. Freshness is the caller's. */
export function verifySignatureHeader(secret: string, header: string, body: string): boolean {
  const m = HEADER.exec(header);
  return m !== null && verifyTimestamped(secret, m[1] as string, body, m[2] as string);
}
