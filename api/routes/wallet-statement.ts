// GET /api/wallet/statement?month=YYYY-MM (CONTRACT §12): one calendar month (UTC) of the caller's
// ledger as CSV: a header row, the opening balance, one row per ledger entry (date, kind,
// reference, description, amount, balance after, as decimals of the currency) and the closing
// balance; closing − opening is the sum of the rows. Every figure is the ledger's (wallet_statement);
// this file only writes them down. Read page by page and streamed, so a busy month never sits in
// memory whole; every page reads up to the first page's cut, so the rows add up to its closing.
import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { Services } from '../../shared/process/services';
import { csvHeader, csvLine } from '../../shared/usage/statement-csv';
import type { StatementEntry, StatementHead, UsageStore } from '../../shared/usage/usage-store';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { parseQuery } from '../middleware/validate';

/** Ledger entries read from Postgres per page of the statement. */
export const STATEMENT_PAGE_ROWS = 1000;

const query = z.strictObject({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month written YYYY-MM')
    .refine((m) => m >= '0001-01', 'is not a month'),
});

const isoDay = (timestamp: string) => new Date(timestamp).toISOString().slice(0, 10);

function entryLine(e: StatementEntry, currency: string): string {
  return csvLine({ date: new Date(e.createdAt).toISOString(), kind: e.kind, reference: e.reference, description: e.description, amount: e.amount, balanceAfter: e.balanceAfter }, currency);
}

/** Writes the rest of the month's entries after the first page, page by page, then the closing row. */
async function writeRemainingPages(res: Response, usage: UsageStore, at: { orgId: string; month: string; head: StatementHead; currency: string; afterId: number | null }): Promise<void> {
  let afterId = at.afterId;
  while (afterId !== null) {
    const page = await usage.statementPage({ orgId: at.orgId, month: at.month, throughId: at.head.throughId, afterId, limit: STATEMENT_PAGE_ROWS });
    if (!page) throw new Error('invariant violated: the wallet of a statement in progress disappeared');
    res.write(page.entries.map((e) => entryLine(e, at.currency)).join(''));
    afterId = page.entries.length === STATEMENT_PAGE_ROWS ? (page.entries[page.entries.length - 1]?.id ?? null) : null;
  }
}

export function getStatement({ usage, log }: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const { month } = parseQuery(query, req);
    const first = await usage.statementPage({ orgId, month: `${month}-01`, throughId: null, afterId: null, limit: STATEMENT_PAGE_ROWS });
    if (!first) throw new AppError('not_found', 'This organisation has no wallet.');
    const head = first.head;
    if (!head) throw new Error('invariant violated: the first page of a statement has no head');
    const { currency } = first;
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="statement-${month}-${currency}.csv"`);
    res.setHeader('Cache-Control', 'no-store');
    const lastDay = isoDay(new Date(Date.parse(head.periodEnd) - 1).toISOString());
    res.write(csvHeader());
    res.write(csvLine({ date: isoDay(head.periodStart), kind: 'opening_balance', reference: null, description: `Opening balance (${currency.toUpperCase()})`, amount: null, balanceAfter: head.opening }, currency));
    res.write(first.entries.map((e) => entryLine(e, currency)).join(''));
    const afterId = first.entries.length === STATEMENT_PAGE_ROWS ? (first.entries[first.entries.length - 1]?.id ?? null) : null;
    try {
      await writeRemainingPages(res, usage, { orgId, month: `${month}-01`, head, currency, afterId });
    } catch (err) {
      // The status line is sent: a statement cut short has no closing row, and the connection is
      // dropped so the client sees an incomplete download rather than a short statement.
      logStatementFailure(log, orgId, month, err);
      res.destroy();
      return;
    }
    res.end(csvLine({ date: lastDay, kind: 'closing_balance', reference: null, description: `Closing balance (${currency.toUpperCase()})`, amount: null, balanceAfter: head.closing }, currency));
  };
}

function logStatementFailure(log: Logger, orgId: string, month: string, err: unknown): void {
  log.error({ orgId, month, err: (err as Error).message }, 'statement cut short: a page could not be read');
}
