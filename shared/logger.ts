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
];

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'billing-gates', ...bindings }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
