// Proves the billing page (CONTRACT §9) works for a person in a real browser, end to end: `npm
// start` in sandbox mode runs as a real process (its own database, Redis prefix and free ports),
// Debian's Chromium opens the link its banner prints, and the walk goes zero balance → a purchase
// refused with the shortfall and a top-up action → an operator credit of 5000 (standing in for a
// Stripe top-up until CONTRACT §7 is merged; the Stripe walk is billing-page-top-up.test.ts) →
// £50.00 → a purchase followed from "queued" to the number → area code 000 followed to its refund
// → a purchase with the keyboard alone → a 360 px viewport with no horizontal overflow. Each step
// is screenshotted under test-results/browser/billing-page/, and after each step the page must
// have logged no console error (beyond the browser's notice of an answer the step expects, such
// as the 402), thrown nothing and loaded every asset. The token must never appear in a request
// URL or in the service's log. The steps run in order and share one page, as a person would.
import type { Page } from 'playwright-core';
import { DEMO_ORG_ID } from '../../bin/banner';
import { focusedElement, focusedOutlineStyle, horizontalOverflow, openBrowser, overflowingElements, sessionItem, type BrowserSession } from '../support/browser';
import { startSandboxApp, type SandboxApp } from '../support/sandbox-app';

jest.setTimeout(90_000);

const UI_LIMIT_MS = 30_000;

let app: SandboxApp;
let browser: BrowserSession;
let page: Page;

const text = (selector: string) => page.locator(selector).innerText();
async function expectText(selector: string, expected: string | RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: expected }).first().waitFor({ state: 'visible', timeout: UI_LIMIT_MS });
}
async function openBilling(url: string): Promise<void> {
  await page.goto(url);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
}

beforeAll(async () => {
  app = await startSandboxApp('billing-page');
  browser = await openBrowser('billing-page');
  page = browser.page;
}, 90_000);

afterEach(() => {
  if (browser) expect(browser.takeProblems()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('billing page in Chromium against npm start (sandbox)', () => {
  it('opens the banner link with a strict CSP, keeps the token for the tab, takes it off the URL and shows a zero balance', async () => {
    const response = await page.goto(app.billingLink);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
    expect(page.url()).toBe(`${app.api}/billing`);
    expect(await sessionItem(page, 'billing-gates:access-token')).toBe(app.token);
    expect(await text('#balance')).toBe('£0.00');
    expect(await text('#available')).toBe('£0.00');
    expect(await page.locator('#frozen-banner').isHidden()).toBe(true);
    await expectText('#transactions-message', 'No transactions yet.');
    // CONTRACT §7's sections load: no events yet, and auto-recharge off with no card saved.
    await expectText('#events-message', 'No events yet.');
    expect(await page.locator('#auto-recharge-message').innerText()).not.toMatch(/not available/);
    await browser.screenshot('zero-balance');
  });

  it('refuses a purchase at zero balance with the shortfall and a top-up action', async () => {
    browser.expectHttpError(402, /\/api\/managed-telephony\/provision$/);
    await page.getByLabel('Area code (three digits)').fill('415');
    await page.getByRole('button', { name: 'Buy number' }).click();
    await expectText('#buy-shortfall', 'a number costs £10.00 and your balance is £0.00');
    const action = page.getByRole('button', { name: 'Top up £10.00' });
    await action.waitFor({ state: 'visible' });
    await browser.screenshot('shortfall');
    await action.click();
    const amount = page.getByLabel(/^Amount/);
    expect(await amount.inputValue()).toBe('10.00');
    expect(await focusedElement(page)).toBe('top-up-amount');
    // Paying through Stripe's checkout is the walk of billing-page-top-up.test.ts; here an
    // operator credit stands in for it, so this walk does not depend on the card simulator.
    expect(page.url()).toBe(`${app.api}/billing`);
    expect(await text('#balance')).toBe('£0.00');
  });

  it('shows £50.00 after an operator credit of 5000 and a reload, with the credit in the transactions', async () => {
    expect((await app.credit(DEMO_ORG_ID, 5000, 'browser-walk-credit')).status).toBe(201);
    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
    expect(await text('#balance')).toBe('£50.00');
    expect(await text('#available')).toBe('£50.00');
    const row = page.locator('#transactions-body tr').first();
    expect(await row.innerText()).toMatch(/Top-up\s+£50\.00\s+£50\.00/);
    await browser.screenshot('credited');
  });

  it('buys a number in area code 415: "queued" first, then the number, and £10.00 taken', async () => {
    await page.getByLabel('Area code (three digits)').fill('415');
    await page.getByRole('button', { name: 'Buy number' }).click();
    await expectText('#buy-steps li', /^Queued/);
    await browser.screenshot('queued');
    await expectText('#buy-result', /^Your new number: \+1415\d{7}$/);
    await expectText('#balance', '£40.00');
    expect(await page.locator('#buy-steps li').first().innerText()).toMatch(/^Queued/);
    expect(await page.locator('#transactions-body tr').first().innerText()).toMatch(/Phone number\s+-£10\.00\s+£40\.00/);
    await browser.screenshot('number-bought');
  });

  it('follows area code 000 to its refund and shows the balance restored', async () => {
    await page.getByLabel('Area code (three digits)').fill('000');
    await page.getByRole('button', { name: 'Buy number' }).click();
    await expectText('#buy-result', 'No number could be bought in area code 000. £10.00 has been refunded to your balance.');
    await expectText('#balance', '£40.00');
    const rows = page.locator('#transactions-body tr');
    expect(await rows.nth(0).innerText()).toMatch(/Phone number refund\s+£10\.00\s+£40\.00/);
    expect(await rows.nth(1).innerText()).toMatch(/Phone number\s+-£10\.00\s+£30\.00/);
    await browser.screenshot('refunded');
  });

  it('buys a number with the keyboard alone: Tab to the area code, type it, Tab to Buy, Enter', async () => {
    await openBilling(`${app.api}/billing`);
    await page.locator('body').focus();
    const visited: string[] = [];
    for (let i = 0; i < 10 && visited[visited.length - 1] !== 'area-code'; i++) {
      await page.keyboard.press('Tab');
      visited.push(await focusedElement(page));
    }
    // The focus order follows the page: skip link, Refresh, then the buy form.
    expect(visited).toEqual(['skip-link', 'refresh', 'area-code']);
    await page.keyboard.type('415');
    await page.keyboard.press('Tab');
    expect(await focusedElement(page)).toBe('buy-submit');
    expect(await focusedOutlineStyle(page)).not.toBe('none');
    await page.keyboard.press('Enter');
    await expectText('#buy-result', /^Your new number: \+1415\d{7}$/);
    await expectText('#balance', '£30.00');
    await browser.screenshot('keyboard-purchase');
  });

  it('fits a 360 px wide screen: nothing overflows horizontally', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await openBilling(`${app.api}/billing`);
    expect(await text('#balance')).toBe('£30.00');
    const overflow = await horizontalOverflow(page);
    if (overflow > 0) throw new Error(`the page is ${overflow} px wider than 360 px; overflowing: ${(await overflowingElements(page)).join(', ')}`);
    expect(await overflowingElements(page)).toEqual([]);
    await browser.screenshot('360px');
  });

  it('never sent the token in a URL nor let it into the service log, and kept the ledger consistent', async () => {
    // The link holds the token in its fragment, which a browser never sends: no request has it.
    expect(browser.requests().length).toBeGreaterThan(10);
    expect(browser.requests().filter((url) => url.includes(app.token))).toEqual([]);
    const log = app.process.output();
    const bannerEnd = log.lastIndexOf('npm run test:billing-gates');
    expect(bannerEnd).toBeGreaterThan(0);
    expect(log.slice(bannerEnd)).not.toContain(app.token);
    expect(await app.ledgerViolations()).toEqual([]);
  });
});
