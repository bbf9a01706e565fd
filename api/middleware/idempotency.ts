// Idempotency-Key handling shared by every money-moving endpoint. The key comes from the client
// and is required (failure mode 7); the fingerprint ties it to one request body, so the same key
// with another body is refused with 409 by the SQL function that records the first outcome.
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import stringify from 'safe-stable-stringify';
import { AppError } from '../../shared/errors';

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function requireIdempotencyKey(req: Request): string {
  const key = req.get('idempotency-key');
  if (key === undefined || key === '') {
    throw new AppError('invalid_request', 'The Idempotency-Key header is required.');
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new AppError('invalid_request', 'The Idempotency-Key header must be 1 to 255 visible ASCII characters.');
  }
  return key;
}

/** sha256 over the operation and its parsed input, in a canonical key order. */
export function fingerprint(operation: string, input: unknown): string {
  return createHash('sha256').update(`${operation}\n${stringify(input)}`).digest('hex');
}

export function keyReused(): AppError {
  return new AppError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
}
