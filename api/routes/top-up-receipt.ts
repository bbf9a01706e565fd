// GET /api/wallet/top-ups/:topUpId/receipt (CONTRACT §12): the receipt of one of the caller's paid
// top-ups — its number from the one gap-free series (R-000001, …), amount, currency, when it was
// paid and the card that paid. 404 until the payment is credited, and for another organisation's
// or an unknown top-up (top_up_receipt_get).
import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors';
import type { Receipt } from '../../shared/money-in/money-in-store';
import type { Services } from '../../shared/process/services';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { UUID_PATTERN } from './schemas';

export function receiptBody(r: Receipt) {
  const card = r.cardBrand !== null || r.cardLast4 !== null ? { brand: r.cardBrand, last4: r.cardLast4 } : null;
  return { receiptNumber: r.receiptNumber, topUpId: r.topUpId, amount: r.amount, currency: r.currency, paidAt: r.paidAt, card };
}

export function getReceipt({ moneyIn }: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const id = String(req.params.topUpId);
    const none = new AppError('not_found', 'No receipt: there is no such top-up, or it is not paid yet.');
    if (!UUID_PATTERN.test(id)) throw none;
    const r = await moneyIn.receipt(orgId, id.toLowerCase());
    if (r.outcome === 'not_found') throw none;
    res.json(receiptBody(r.receipt));
  };
}
