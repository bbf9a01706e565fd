// GET /api/numbers and DELETE /api/numbers/:id (CONTRACT §11) — the caller's rented numbers, and
// giving one up. Every state and every charge is decided in SQL (supabase/schemas/rental/); this
// maps rows to the contract's shape and runs the release at Vapi and Twilio.
//
// Decisions where the contract is silent (README, "Monthly number rental"):
// - A number whose release has begun but is not finished at Vapi and Twilio is shown `released`:
//   it is no longer the customer's (no rent, no calls); the service finishes the release.
// - Each item also carries `releaseAt`: for a past-due number, when it is released unless paid.
// - Registered numbers (an operator's, not bought here) pay no rent and are not listed; DELETE of
//   one, like a foreign, unknown or malformed id, is a 404.
// - DELETE answers 200 with the number once Vapi and Twilio confirmed the release (also when it
//   was released before: idempotent), and 202 when a provider failed: it is released from the
//   customer's side already, and the rent sweep finishes it at the providers.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { phoneNumberMonthlyPrice } from '../../shared/pricing';
import type { Services } from '../../shared/process/services';
import { graceSeconds, rentalDeps } from '../../shared/rental/rental-deps';
import { NumberReleaseFailed, releaseRentedNumber } from '../../shared/rental/release-rented-number';
import type { RentedNumber } from '../../shared/rental/rental-store';
import { dashboardCaller, requireDashboard } from '../middleware/dashboard-auth';
import { parseQuery } from '../middleware/validate';
import { UUID_PATTERN } from './schemas';

/** The most numbers GET /api/numbers lists (newest first). */
export const NUMBERS_LIST_MAX = 500;

const noQuery = z.strictObject({});
const notFound = () => new AppError('not_found', 'No such number.');

export function numberItem(pricing: Services['config']['pricing'], n: RentedNumber, currency: string) {
  return {
    id: n.id,
    phoneNumber: n.e164,
    status: n.status === 'releasing' ? 'released' : n.status,
    // null only for a wallet currency with no monthly price (counted and alerted on: the rent sweep cannot charge it).
    monthlyPrice: phoneNumberMonthlyPrice(pricing, currency) ?? null,
    currency,
    paidUntil: n.paidUntil,
    nextChargeAt: n.nextChargeAt,
    releaseAt: n.releaseAt,
  };
}

function listNumbers(services: Services): RequestHandler {
  const { config, rental } = services;
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    parseQuery(noQuery, req);
    const r = await rental.listNumbers(orgId, graceSeconds(config), NUMBERS_LIST_MAX);
    if (r.outcome === 'not_found') throw new AppError('not_found', 'This organisation has no wallet.');
    res.json({ items: r.items.map((n) => numberItem(config.pricing, n, r.currency)) });
  };
}

function releaseNumber(services: Services): RequestHandler {
  const { config, rental, log } = services;
  const deps = rentalDeps(services);
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const id = String(req.params.id);
    if (!UUID_PATTERN.test(id)) throw notFound();
    const begun = await rental.beginRelease(id.toLowerCase(), orgId, graceSeconds(config));
    if (begun.outcome === 'not_found' || begun.outcome === 'not_rented') throw notFound();
    const show = (n: RentedNumber) => numberItem(config.pricing, n, begun.currency);
    if (begun.outcome === 'released_already') {
      res.json(show(begun.number));
      return;
    }
    if (begun.outcome === 'releasing') log.info({ orgId, numberId: begun.number.id }, 'customer released a number');
    try {
      res.json(show(await releaseRentedNumber(deps, begun.number)));
    } catch (err) {
      if (!(err instanceof NumberReleaseFailed)) throw err;
      res.status(202).json(show(begun.number));
    }
  };
}

export function numbersRoutes(services: Services): Router {
  const r = Router();
  r.use(requireDashboard(services.config.auth.jwt));
  r.get('/', listNumbers(services));
  r.delete('/:id', releaseNumber(services));
  return r;
}
