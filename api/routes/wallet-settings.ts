// GET/PUT /api/wallet/auto-recharge, PUT /api/wallet/alerts, GET /api/wallet/events (CONTRACT §7).
import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { AutoRechargeSettings } from '../../shared/money-in/money-in-store';
import { webhookUrlProblem } from '../../shared/money-in/webhook-address';
import type { Services } from '../../shared/process/services';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { parseBody, parseQuery } from '../middleware/validate';
import { encodeCursor, pageCursor } from './page-cursor';

export const MAX_ALERT_THRESHOLDS = 5;
export const EVENTS_MAX_LIMIT = 200;
const MAX_MONEY = 100_000_000;
const money = z.number().int('must be a whole number of minor units').min(0).max(MAX_MONEY);

const rechargeBody = z
  .strictObject({ enabled: z.boolean(), threshold: money, amount: money })
  .refine((b) => !b.enabled || b.amount >= 1, { message: 'amount must be at least 1 when enabled', path: ['amount'] });

const showRecharge = (s: AutoRechargeSettings) => ({ enabled: s.enabled, threshold: s.threshold, amount: s.amount, currency: s.currency, paymentMethod: s.paymentMethod });

export function getAutoRecharge({ moneyIn }: Services): RequestHandler {
  return async (req, res) => {
    const r = await moneyIn.getAutoRecharge(dashboardCaller(req).orgId);
    if (r.outcome === 'not_found') throw new AppError('not_found', 'This organisation has no wallet.');
    res.json(showRecharge(r.settings));
  };
}

export function putAutoRecharge(services: Services): RequestHandler {
  const { moneyIn, config } = services;
  return async (req, res) => {
    const input = parseBody(rechargeBody, req);
    if (input.enabled && (input.amount < config.topUps.minAmount || input.amount > config.topUps.maxAmount)) {
      throw new AppError('invalid_request', `amount: must be between ${config.topUps.minAmount} and ${config.topUps.maxAmount}`);
    }
    const r = await moneyIn.putAutoRecharge(dashboardCaller(req).orgId, input);
    if (r.outcome === 'not_found') throw new AppError('not_found', 'This organisation has no wallet.');
    if (r.outcome === 'no_payment_method') throw new AppError('no_payment_method', 'Pay one top-up by card first: auto-recharge charges the card it saved.');
    res.json(showRecharge(r.settings));
  };
}

export function putAlerts(services: Services): RequestHandler {
  const sandbox = services.config.sandbox.enabled;
  // Every rule is judged here, so a bad setting is a 400 and reaches no SQL. The URL is parsed
  // once, inside the check, which never throws (a `z.string().url()` failure still ran the next
  // refinement, whose `new URL` threw: a 500 for a value that is not a URL).
  const webhookUrl = z
    .string()
    .max(2000)
    .superRefine((u, ctx) => {
      const problem = webhookUrlProblem(u, sandbox);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });
  const body = z.strictObject({
    thresholds: z.array(money).max(MAX_ALERT_THRESHOLDS, `at most ${MAX_ALERT_THRESHOLDS} thresholds`),
    webhookUrl: webhookUrl.nullable().optional(),
  });
  return async (req, res) => {
    const input = parseBody(body, req);
    const secret = `bgs_${randomBytes(24).toString('hex')}`;
    const r = await services.moneyIn.putAlerts(dashboardCaller(req).orgId, input.thresholds, input.webhookUrl ?? null, secret);
    if (r.outcome === 'not_found') throw new AppError('not_found', 'This organisation has no wallet.');
    res.json({
      thresholds: r.thresholds,
      webhookUrl: r.webhook_url,
      currency: r.currency,
      // Shown once, the first time; kept thereafter (rotate by asking an operator).
      ...(r.signing_secret !== null ? { signingSecret: r.signing_secret } : {}),
    });
  };
}

const eventsQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(EVENTS_MAX_LIMIT))
    .default(50),
  cursor: pageCursor.optional(),
});

export function listEvents({ moneyIn }: Services): RequestHandler {
  return async (req, res) => {
    const q = parseQuery(eventsQuery, req);
    const rows = await moneyIn.listEvents(dashboardCaller(req).orgId, q.cursor, q.limit + 1);
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    res.json({ items, nextCursor: rows.length > q.limit && last ? encodeCursor(Number(last.id)) : null });
  };
}
