// GET /api/wallet and GET /api/wallet/transactions — the caller's own wallet only; and the
// routes of money in (CONTRACT §7) and of usage, statements and receipts (§12) under it.
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { dashboardCaller, requireDashboard } from '../middleware/dashboard-auth';
import { parseQuery } from '../middleware/validate';
import { encodeCursor, pageCursor } from './page-cursor';
import { getReceipt } from './top-up-receipt';
import { createTopUp, getTopUp, listTopUps } from './top-ups';
import { getStatement } from './wallet-statement';
import { getUsage } from './wallet-usage';
import { getAutoRecharge, listEvents, putAlerts, putAutoRecharge } from './wallet-settings';

export const TRANSACTIONS_MAX_LIMIT = 200;

const query = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(TRANSACTIONS_MAX_LIMIT))
    .default(50),
  cursor: pageCursor.optional(),
});

export function walletRoutes(services: Services): Router {
  const { config, wallet, store, holds } = services;
  const r = Router();
  r.use(requireDashboard(config.auth.jwt));

  r.get('/', async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const w = await wallet.snapshot(orgId);
    if (!w) throw new AppError('not_found', 'This organisation has no wallet.');
    const held = await holds.totalHeld(orgId);
    res.json({ orgId, currency: w.currency, balance: w.balance, available: w.balance - held, frozen: w.frozen, frozenReason: w.frozenReason, updatedAt: w.updatedAt });
  });

  r.get('/transactions', async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const q = parseQuery(query, req);
    // One extra row tells whether another page exists without a count query.
    const rows = await store.listEntries({ orgId, beforeId: q.cursor, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    res.json({ items, nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null });
  });

  // Money in (CONTRACT §7).
  r.post('/top-ups', createTopUp(services));
  r.get('/top-ups', listTopUps(services));
  r.get('/top-ups/:topUpId', getTopUp(services));
  r.get('/top-ups/:topUpId/receipt', getReceipt(services));
  r.get('/auto-recharge', getAutoRecharge(services));
  r.put('/auto-recharge', putAutoRecharge(services));
  r.put('/alerts', putAlerts(services));
  r.get('/events', listEvents(services));

  // Usage at a glance (CONTRACT §12).
  r.get('/usage', getUsage(services));
  r.get('/statement', getStatement(services));

  return r;
}
