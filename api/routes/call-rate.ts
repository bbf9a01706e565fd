// GET /api/rates?number=+E164 — the rate a call to (or an inbound call on) that number would be
// charged (CONTRACT §10): the longest matching prefix of the rate table, else the default
// (CALL_RATE_PER_MINUTE, no connect fee, increments of 1 s; prefix null). Read from this
// process's copy of the table (shared/calls/call-rates.ts, at most RATE_CACHE_MS old).
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Services } from '../../shared/process/services';
import { parseQuery } from '../middleware/validate';
import { e164 } from './schemas';

const query = z.strictObject({ number: e164 });

export function getCallRate(services: Services): RequestHandler {
  return async (req, res) => {
    const { number } = parseQuery(query, req);
    const { rate, blocked } = await services.rates.match(number);
    res.json({
      number,
      prefix: rate.prefix,
      ratePerMinute: rate.ratePerMinute,
      connectFee: rate.connectFee,
      minimumSeconds: rate.minimumSeconds,
      incrementSeconds: rate.incrementSeconds,
      blocked,
      currency: services.config.pricing.currency,
    });
  };
}
