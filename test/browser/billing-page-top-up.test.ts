// Proves the billing page's top-up through Stripe Checkout and back (CONTRACT §7 and §9), in Debian's
// Chromium against `npm start` in sandbox mode (a real process, with the Stripe simulator of
// CONTRACT §6): 50.00 typed on the page → POST /api/wallet/top-ups → the simulator's checkout page
// → card 4242 4242 4242 4242 → back on /billing, the payment confirmed and the balance £50.00; then
// the declined card 4000 0000 0000 0002 → the checkout page says so, and back on /billing the page
// says nothing was added and the balance is still £50.00, with one top-up in the ledger.
//
// What it relies on of CONTRACT §7 and the Stripe simulator:
//   - POST /api/wallet/top-ups {amount, returnUrl} → 201 {topUpId, status:"pending", amount,
//     currency, checkoutUrl, checkoutSessionId}; returnUrl is the Checkout Session's success URL.
//   - GET /api/wallet/top-ups/:topUpId → 200 {topUpId, status: pending|paid|failed|expired, ...}.
//   - The simulator listens on SANDBOX_STRIPE_PORT (this test sets it to a free port) and its
//     checkoutUrl is http://127.0.0.1:<that port>/...; the checkout page has a text input
//     labelled "Card number" (matched case-insensitively) and a button whose name starts with
//     "Pay"; paying with 4242… sends the signed webhook and redirects the browser to returnUrl;
//     4000000000000002 leaves the browser on the checkout page with a message containing
//     "declined" and the session open (no redirect, nothing credited).
//   - GET /api/wallet/events and GET /api/wallet/auto-recharge answer 200 (no 404 is expected).
import type { Page } from 'playwright-core';
import { openBrowser, type BrowserSession } from '../support/browser';
import { startSandboxApp, type SandboxApp } from '../support/sandbox-app';

jest.setTimeout(120_000);

const UI_LIMIT_MS = 45_000;

let app: SandboxApp;
let browser: BrowserSession;
let page: Page;
let simulator: string;

const text = (selector: string) => page.locator(selector).innerText();
async function expectText(selector: string, expected: string | RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: expected }).first().waitFor({ state: 'visible', timeout: UI_LIMIT_MS });
}

/** Types an amount on the billing page, presses Pay by card and waits for the simulator's checkout. */
async function goToCheckout(amount: string): Promise<void> {
  await page.getByLabel(/^Amount/).fill(amount);
  await page.getByRole('button', { name: 'Pay by card' }).click();
  const left = page.waitForURL((url) => url.origin === simulator, { timeout: UI_LIMIT_MS });
  const refused = page.locator('#top-up-message.error').waitFor({ state: 'visible', timeout: UI_LIMIT_MS });
  await Promise.race([left, refused]);
  if (!page.url().startsWith(simulator)) {
    throw new Error(
      `the page did not go to the Stripe simulator's checkout (${simulator}); it says: "${await text('#top-up-message')}". ` +
        'The top-up endpoint (CONTRACT §7) or the Stripe simulator did not answer as expected.',
    );
  }
}

async function payOnCheckout(card: string): Promise<void> {
  await page.getByLabel(/card number/i).fill(card);
  await page.getByRole('button', { name: /^pay/i }).click();
}

beforeAll(async () => {
  app = await startSandboxApp('billing-top-up');
  simulator = `http://127.0.0.1:${app.ports.stripe}`;
  browser = await openBrowser('billing-page-top-up');
  page = browser.page;
  // The simulator's own page is not ours: its expected refusals (a declined card) and its misses
  // (favicon) do not count against the billing page.
  for (const status of [400, 402, 404]) browser.expectHttpError(status, new RegExp(`^${simulator.replace(/\./g, '\\.')}/`));
}, 90_000);

afterEach(() => {
  if (browser) expect(browser.takeProblems()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('billing page top-up through the Stripe simulator', () => {
  it('tops up 50.00 with card 4242 4242 4242 4242 and comes back to a balance of £50.00', async () => {
    await page.goto(app.billingLink);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
    expect(await text('#balance')).toBe('£0.00');
    await goToCheckout('50');
    await browser.screenshot('checkout');
    await payOnCheckout('4242424242424242');
    await page.waitForURL((url) => url.origin === app.api && url.pathname === '/billing', { timeout: UI_LIMIT_MS });
    await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
    await expectText('#top-up-message', 'Payment received: £50.00 has been added to your balance.');
    expect(await text('#balance')).toBe('£50.00');
    expect(page.url()).toBe(`${app.api}/billing`);
    expect(await page.locator('#transactions-body tr').first().innerText()).toMatch(/Top-up\s+£50\.00\s+£50\.00/);
    await browser.screenshot('paid');
  });

  it('says so when card 4000 0000 0000 0002 is declined, and credits nothing', async () => {
    await goToCheckout('50');
    await payOnCheckout('4000000000000002');
    await page.getByText(/declined/i).first().waitFor({ state: 'visible', timeout: UI_LIMIT_MS });
    expect(page.url().startsWith(simulator)).toBe(true);
    await browser.screenshot('declined');
    // The person leaves the checkout and comes back to the billing page in the same tab.
    await page.goto(`${app.api}/billing`);
    // Stripe's failed-payment event marks the top-up failed; the page says so plainly.
    await expectText('#top-up-message', /The payment of £50\.00 did not go through\. Nothing was added and nothing was charged/);
    expect(await text('#balance')).toBe('£50.00');
    const topUps = await page.locator('#transactions-body tr', { hasText: 'Top-up' }).count();
    expect(topUps).toBe(1);
    await browser.screenshot('declined-back-on-page');
    expect(await app.ledgerViolations()).toEqual([]);
  });
});
