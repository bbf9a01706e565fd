// Structured logs. Secrets and personal data are redacted by path, wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-vapi-secret"]',
  'req.headers["x-signature"]',
  'headers.authorization',
  'authorization',
  '*.authToken',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.customer.number',
  'message.customer',
  // Vapi's live-call-control URL: whoever holds it controls the call.
  '*.controlUrl',
  '*.monitor',
  'message.call.monitor',
];

/** `destination` defaults to stdout; tests pass a buffer to read what the service logs. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'billing-gates', ...bindings }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

/** A connection string fit for a log: its password (and any user) replaced, the rest kept. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '[redacted]';
    return url.toString();
  } catch {
    return '[unparseable url]';
  }
}
