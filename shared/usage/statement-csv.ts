// The monthly statement as CSV (GET /api/wallet/statement, CONTRACT §12): RFC 4180 quoting, and
// every text cell that a spreadsheet would read as a formula (= + - @, or a leading tab or carriage
// return) neutralised with a leading apostrophe (OWASP "CSV injection"). The money columns are
// decimals this file writes itself from integers, so they are numbers and never prefixed: a
// spreadsheet must be able to add them up.
import { decimalOf } from '../currency';

export const STATEMENT_COLUMNS = ['date', 'kind', 'reference', 'description', 'amount', 'balance_after'] as const;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One text cell: neutralised if it could start a formula, then quoted if it must be. */
export function textCell(value: string | null): string {
  const text = value ?? '';
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One money cell: the exact decimal of an integer of minor units ("-12.34"), or empty. */
export function moneyCell(minor: number | null, currency: string): string {
  return minor === null ? '' : decimalOf(minor, currency);
}

export interface StatementRow {
  date: string;
  kind: string;
  reference: string | null;
  description: string;
  amount: number | null;
  balanceAfter: number;
}

/** One CSV line (CRLF-terminated, as RFC 4180 writes them). */
export function csvLine(row: StatementRow, currency: string): string {
  return `${[textCell(row.date), textCell(row.kind), textCell(row.reference), textCell(row.description), moneyCell(row.amount, currency), moneyCell(row.balanceAfter, currency)].join(',')}\r\n`;
}

export const csvHeader = (): string => `${STATEMENT_COLUMNS.join(',')}\r\n`;
