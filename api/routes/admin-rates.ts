// GET / PUT /api/admin/rates — the operators' rate table (CONTRACT §10). A PUT replaces the whole
// table in one transaction (call_rates_put); the body is checked whole first (zod: every field,
// bounds as the table's CHECKs, prefixes unique), so a bad row changes nothing. Calls already
// admitted keep the rate fixed at their admission; new outbound calls see the new table at once,
// inbound calls within the number cache's bound (docs/call-gate.md, "Rates").
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { RateRow } from '../../shared/calls/call-store';
import type { Services } from '../../shared/process/services';
import { parseBody } from '../middleware/validate';

/** Rows one table may hold (as call_rates_put). */
export const RATE_TABLE_MAX_ROWS = 10_000;

const whole = (min: number, max: number) => z.number().int('must be a whole number').min(min).max(max);
const rate = z.strictObject({
  prefix: z.string().regex(/^\+[0-9]{1,15}$/, 'must be + and 1 to 15 digits, e.g. "+44"'),
  ratePerMinute: whole(1, 1_000_000),
  connectFee: whole(0, 1_000_000).default(0),
  minimumSeconds: whole(0, 3600).default(0),
  incrementSeconds: whole(1, 3600).default(1),
  blocked: z.boolean().default(false),
});
const body = z.strictObject({
  rates: z
    .array(rate)
    .max(RATE_TABLE_MAX_ROWS)
    .refine((rows) => new Set(rows.map((r) => r.prefix)).size === rows.length, 'each prefix may appear once'),
});

const toApi = (r: RateRow) => ({
  prefix: r.prefix,
  ratePerMinute: r.rate_per_minute,
  connectFee: r.connect_fee,
  minimumSeconds: r.minimum_seconds,
  incrementSeconds: r.increment_seconds,
  blocked: r.blocked,
});

export function getRates(services: Services): RequestHandler {
  return async (_req, res) => {
    res.json({ rates: (await services.outboundStore.rates()).map(toApi), currency: services.config.pricing.currency });
  };
}

export function putRates(services: Services): RequestHandler {
  return async (req, res) => {
    const input = parseBody(body, req);
    const stored = await services.rates.replace(
      input.rates.map((r) => ({
        prefix: r.prefix,
        rate_per_minute: r.ratePerMinute,
        connect_fee: r.connectFee,
        minimum_seconds: r.minimumSeconds,
        increment_seconds: r.incrementSeconds,
        blocked: r.blocked,
      })),
    );
    services.log.info({ rates: stored.length }, 'rate table replaced');
    res.json({ rates: stored.map(toApi), currency: services.config.pricing.currency });
  };
}
