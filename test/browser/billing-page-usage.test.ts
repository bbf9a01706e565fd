// Proves usage at a glance on the billing page (CONTRACT §12) in Debian's Chromium against `npm
// start` in sandbox mode (a real process with its workers and simulators): 50 calls through the
// service's Vapi webhook, billed by its call-billing worker; a number bought through the provision
// API; a top-up paid on the Stripe simulator; then the history moved onto the last three UTC days
// (test/support/usage-fixtures.ts: the append-only trigger off for one superuser transaction in
// the process's own database). On the page:
//   - the 30-day chart draws one bar per day whose data-calls-amount and data-numbers-amount are
//     the sums of that day's ledger entries (read here straight from ledger_entries), with the
//     same figures in the screen-reader table; screenshot test-results/browser/billing-page-usage/;
//   - the calls list pages through all 50 calls with Older/Newer, by keyboard;
//   - the statement of a month downloads as CSV whose closing − opening is the sum of its rows;
//   - the paid top-up has a receipt link showing R-000001, the amount and the card;
//   - at 360 px nothing overflows; no console error anywhere; the ledger stays consistent.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_ORG_ID } from '../../bin/banner';
import { SANDBOX_SECRETS } from '../../shared/config';
import { createPool } from '../../shared/db/pool';
import { BROWSER_OUTPUT_DIR, focusedElement, horizontalOverflow, openBrowser, overflowingElements, type BrowserSession } from '../support/browser';
import { startSandboxApp, type SandboxApp } from '../support/sandbox-app';
import { assistantRequestFrom, backdateOrg, callSeconds, ledgerDays, minorOf, parseCsv, reportFrom } from '../support/usage-fixtures';

jest.setTimeout(180_000);

const UI_LIMIT_MS = 30_000;
const CALLS = 50;
const NUMBER = { vapiPhoneNumberId: 'pn-browser-usage', e164: '+14155550142' };
const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAYS = [3, 2, 1].map((back) => utcDay(Date.now() - back * DAY_MS));

// The DOM as the page.evaluate callbacks below see it (the project's TypeScript has no DOM lib).
interface DomElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
  disabled?: boolean;
}
declare const document: { querySelector(selector: string): DomElement | null; activeElement: DomElement | null };

let app: SandboxApp;
let browser: BrowserSession;
let page: Page;
let pool: ReturnType<typeof createPool>;

async function post(path: string, body: unknown, headers: Record<string, string>, base = app.api): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const vapi = { 'x-vapi-secret': SANDBOX_SECRETS.VAPI_WEBHOOK_SECRET };
const admin = { authorization: `Bearer ${SANDBOX_SECRETS.ADMIN_TOKEN}` };

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function openBilling(): Promise<void> {
  await page.goto(`${app.api}/billing`);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
}

beforeAll(async () => {
  app = await startSandboxApp('billing-usage');
  pool = createPool(app.databaseUrl, { max: 2 });
  const dashboard = { authorization: `Bearer ${app.token}` };
  expect((await app.credit(DEMO_ORG_ID, 100_000, 'usage-walk-credit')).status).toBe(201);
  expect((await post('/api/admin/phone-numbers', { orgId: DEMO_ORG_ID, phoneNumber: NUMBER.e164, vapiPhoneNumberId: NUMBER.vapiPhoneNumberId, assistantId: 'asst-usage' }, admin)).status).toBe(201);
  for (let i = 0; i < CALLS; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, async (_, j) => {
        const callId = `browser-usage-${String(i + j).padStart(2, '0')}`;
        expect((await post('/api/vapi/webhook', assistantRequestFrom(NUMBER, callId), vapi)).body.assistantId).toBe('asst-usage');
        expect((await post('/api/vapi/webhook', reportFrom(NUMBER, callId, DEMO_ORG_ID, callSeconds(i + j)), vapi)).status).toBe(200);
      }),
    );
  }
  expect((await post('/api/managed-telephony/provision', { areaCode: '415' }, { ...dashboard, 'idempotency-key': 'usage-walk-number' })).status).toBe(202);
  const topUp = await post('/api/wallet/top-ups', { amount: 2500 }, { ...dashboard, 'idempotency-key': 'usage-walk-top-up' });
  expect(topUp.status).toBe(201);
  const simulator = `http://127.0.0.1:${app.ports.stripe}`;
  expect((await post(`/sandbox/checkout/sessions/${String(topUp.body.checkoutSessionId)}/pay`, { card: '4242424242424242' }, {}, simulator)).status).toBe(200);
  await until('the top-up to be paid', async () => ((await pool.query("select 1 from top_ups where status = 'paid'")).rowCount === 1 ? true : undefined));
  await until('every call to be billed', async () => {
    const r = await pool.query('select count(*) as n from call_reports where org_id = $1 and billed_at is not null', [DEMO_ORG_ID]);
    return Number(r.rows[0].n) === CALLS ? true : undefined;
  });
  await backdateOrg(pool, DEMO_ORG_ID, DAYS);
  browser = await openBrowser('billing-page-usage');
  page = browser.page;
  await page.goto(app.billingLink);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
}, 180_000);

afterEach(() => {
  if (browser) expect(browser.takeProblems()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await pool?.end();
  await app?.stop();
});

interface Bar {
  date: string;
  calls: number;
  count: number;
  numbers: number;
}

describe('usage at a glance on the billing page (Chromium, npm start in sandbox mode)', () => {
  it('draws the last 30 days with each bar carrying that day’s ledger sums, the same in the table, and saves a screenshot of the chart', async () => {
    await page.locator('#usage-svg .usage-bar').first().waitFor({ state: 'attached', timeout: UI_LIMIT_MS });
    const bars: Bar[] = await page.locator('#usage-svg .usage-bar').evaluateAll((els) =>
      els.map((el) => ({
        date: el.getAttribute('data-date') ?? '',
        calls: Number(el.getAttribute('data-calls-amount')),
        count: Number(el.getAttribute('data-calls-count')),
        numbers: Number(el.getAttribute('data-numbers-amount')),
      })),
    );
    const expectedDates = Array.from({ length: 30 }, (_, i) => utcDay(Date.now() - (29 - i) * DAY_MS));
    expect(bars.map((b) => b.date)).toEqual(expectedDates);
    const ledger = await ledgerDays(pool, DEMO_ORG_ID);
    for (const bar of bars) {
      const day = ledger.get(bar.date);
      expect(bar).toEqual({ date: bar.date, calls: day?.calls.amount ?? 0, count: day?.calls.count ?? 0, numbers: day?.numbers.amount ?? 0 });
    }
    expect(bars.reduce((n, b) => n + b.count, 0)).toBe(CALLS);
    expect(bars.reduce((n, b) => n + b.numbers, 0)).toBe(-1000);
    expect(DAYS.every((d) => (bars.find((b) => b.date === d)?.calls ?? 0) < 0)).toBe(true);
    // The screen readers' table: one row per day, the same count of calls.
    expect(await page.locator('#usage-table tbody tr').count()).toBe(30);
    const tableCounts = await page.locator('#usage-table tbody tr td:nth-child(2)').allInnerTexts();
    expect(tableCounts.map(Number).reduce((a, b) => a + b, 0)).toBe(CALLS);
    expect(await page.locator('#usage-summary').innerText()).toMatch(/^Last 30 days: calls £\d+\.\d{2} \(50 calls, .+\), phone numbers £10\.00\.$/);
    await page.locator('#usage').screenshot({ path: join(BROWSER_OUTPUT_DIR, 'billing-page-usage', 'usage-chart.png') });
    await browser.screenshot('usage');
  });

  it('pages through all 50 calls with the keyboard, newest first, and back', async () => {
    await page.locator('#calls-body tr').first().waitFor({ timeout: UI_LIMIT_MS });
    const ids: string[] = [];
    const older = page.locator('#calls-older');
    for (let i = 0; i < 10; i++) {
      ids.push(...(await page.locator('#calls-body tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-call-id') ?? ''))));
      if (await older.isDisabled()) break;
      const first = await page.locator('#calls-body tr').first().getAttribute('data-call-id');
      await older.focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction((previous) => document.querySelector('#calls-body tr')?.getAttribute('data-call-id') !== previous, first);
    }
    expect(ids).toHaveLength(CALLS);
    expect(new Set(ids).size).toBe(CALLS);
    expect(await page.locator('#calls-body tr').first().innerText()).toMatch(/\+447700900123\s+→ \+14155550142/);
    await page.locator('#calls-newer').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.querySelector('#calls-newer')?.disabled);
    await browser.screenshot('calls');
  });

  it('downloads a month’s statement whose closing − opening is the sum of its rows', async () => {
    const month = DAYS[2]!.slice(0, 7);
    await page.locator('#statement-month').fill(month);
    await page.locator('#statement-download').focus();
    expect(await focusedElement(page)).toBe('statement-download');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_LIMIT_MS }), page.keyboard.press('Enter')]);
    expect(download.suggestedFilename()).toBe(`statement-${month}-gbp.csv`);
    const file = join(BROWSER_OUTPUT_DIR, 'billing-page-usage', download.suggestedFilename());
    await download.saveAs(file);
    const rows = parseCsv(readFileSync(file, 'utf8'));
    expect(rows[0]).toEqual(['date', 'kind', 'reference', 'description', 'amount', 'balance_after']);
    const entries = rows.slice(2, -1);
    const inMonth = await pool.query("select count(*) as n from ledger_entries where org_id = $1 and to_char(created_at at time zone 'UTC', 'YYYY-MM') = $2", [DEMO_ORG_ID, month]);
    expect(entries).toHaveLength(Number(inMonth.rows[0].n));
    expect(minorOf(rows[rows.length - 1]![5]!) - minorOf(rows[1]![5]!)).toBe(entries.reduce((n, r) => n + minorOf(r[4]!), 0));
    await page.locator('#statement-message').filter({ hasText: `Statement for ${month} downloaded` }).waitFor({ timeout: UI_LIMIT_MS });
  });

  it('shows the paid top-up’s receipt R-000001 with its amount and card, and gives the focus back when closed', async () => {
    const button = page.getByRole('button', { name: 'Receipt R-000001' });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.locator('#receipt-title').filter({ hasText: 'Receipt R-000001' }).waitFor({ timeout: UI_LIMIT_MS });
    expect(await focusedElement(page)).toBe('receipt-title');
    const details = await page.locator('#receipt-details').innerText();
    expect(details).toMatch(/£25\.00/);
    expect(details).toMatch(/visa ending 4242/);
    await browser.screenshot('receipt');
    await page.getByRole('button', { name: 'Close receipt' }).click();
    expect(await page.locator('#receipt').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Receipt R-000001');
  });

  it('fits a 360 px wide screen, the chart redrawn for it', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await openBilling();
    await page.locator('#usage-svg .usage-bar').first().waitFor({ state: 'attached', timeout: UI_LIMIT_MS });
    const overflow = await horizontalOverflow(page);
    if (overflow > 0) throw new Error(`the page is ${overflow} px wider than 360 px; overflowing: ${(await overflowingElements(page)).join(', ')}`);
    expect(await page.locator('#usage-svg').getAttribute('width')).toMatch(/^3\d\d$/);
    await page.locator('#usage').screenshot({ path: join(BROWSER_OUTPUT_DIR, 'billing-page-usage', 'usage-chart-360px.png') });
    await page.locator('#calls').screenshot({ path: join(BROWSER_OUTPUT_DIR, 'billing-page-usage', 'calls-360px.png') });
    await page.locator('#receipts').screenshot({ path: join(BROWSER_OUTPUT_DIR, 'billing-page-usage', 'receipts-360px.png') });
    await browser.screenshot('360px');
  });

  it('kept the ledger consistent', async () => {
    expect(await app.ledgerViolations()).toEqual([]);
  });
});
