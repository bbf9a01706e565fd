// Proves the billing page's rented numbers (CONTRACT §11) for a person in a real browser: `npm
// start` in sandbox mode as a real process, Debian's Chromium on the banner's link. The walk: a
// credit of 1500, a number bought on the page → listed "Active" with its next charge (£10.00 on
// the day a month after the purchase); the operator moves the billing clock 31 days (the sandbox
// clock) → after a reload the number shows "Rent overdue", with when it will be released, and the
// event list says so; then the release with the keyboard alone: Enter on its Release button opens
// a confirmation dialog with "Keep it" focused, Escape keeps the number and puts the focus back,
// and Enter again, Tab to "Release number", Enter → "Released" and the message says so; the
// service agrees (GET /api/numbers). At 360 px nothing overflows. No console error, no unexpected
// HTTP error, every asset loaded, and the ledger adds up.
import type { Page } from 'playwright-core';
import { DEMO_ORG_ID } from '../../bin/banner';
import { SANDBOX_SECRETS } from '../../shared/config';
import { focusedElement, horizontalOverflow, openBrowser, overflowingElements, type BrowserSession } from '../support/browser';
import { startSandboxApp, type SandboxApp } from '../support/sandbox-app';

jest.setTimeout(90_000);

const UI_LIMIT_MS = 30_000;

let app: SandboxApp;
let browser: BrowserSession;
let page: Page;

async function expectText(selector: string, expected: string | RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: expected }).first().waitFor({ state: 'visible', timeout: UI_LIMIT_MS });
}
async function openBilling(): Promise<void> {
  await page.goto(`${app.api}/billing`);
  await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
}
const focusedText = () => page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement?.textContent ?? '');

beforeAll(async () => {
  app = await startSandboxApp('billing-page-numbers');
  browser = await openBrowser('billing-page-numbers');
  page = browser.page;
}, 90_000);

afterEach(() => {
  if (browser) expect(browser.takeProblems()).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('billing page: rented numbers in Chromium against npm start (sandbox)', () => {
  let phoneNumber: string;

  it('lists a number bought on the page as active, with its next charge', async () => {
    expect((await app.credit(DEMO_ORG_ID, 1500, 'numbers-walk-credit')).status).toBe(201);
    await page.goto(app.billingLink);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: UI_LIMIT_MS });
    await expectText('#numbers-message', 'No numbers yet.');
    await page.getByLabel('Area code (three digits)').fill('415');
    await page.getByRole('button', { name: 'Buy number' }).click();
    await expectText('#buy-result', /^Your new number: \+1415\d{7}$/);
    phoneNumber = (await page.locator('#buy-result').innerText()).replace('Your new number: ', '');
    const row = page.locator('#numbers-body tr').first();
    await row.filter({ hasText: phoneNumber }).waitFor({ timeout: UI_LIMIT_MS });
    expect(await row.innerText()).toMatch(new RegExp(`\\${phoneNumber}\\s+Active\\s+£10\\.00 on `));
    await browser.screenshot('number-active');
  });

  it('shows the number overdue once the billing clock passes a month the wallet cannot pay', async () => {
    const moved = await fetch(`${app.api}/api/admin/clock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SANDBOX_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ advanceSeconds: 31 * 86_400 }),
    });
    expect(moved.status).toBe(200);
    // The sweep the move queued runs in the workers of the same process; reload until it shows.
    for (let i = 0; i < 40; i++) {
      await openBilling();
      if ((await page.locator('#numbers-body tr').first().innerText()).includes('Rent overdue')) break;
      await page.waitForTimeout(250);
    }
    const row = page.locator('#numbers-body tr').first();
    expect(await row.innerText()).toMatch(/Rent overdue\s+£10\.00 overdue since .+\. Top up before .+ to keep it\./);
    await expectText('#numbers-message', 'One number is not taking calls until its rent is paid');
    await expectText('#events-list li', `Number rental unpaid — ${phoneNumber}`);
    await browser.screenshot('number-overdue');
  });

  it('releases the number with the keyboard alone, after a confirmation that Escape cancels', async () => {
    const release = page.getByRole('button', { name: `Release ${phoneNumber}` });
    await release.focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('#release-dialog');
    await dialog.waitFor({ state: 'visible' });
    expect(await focusedElement(page)).toBe('release-keep');
    expect(await page.locator('#release-text').innerText()).toContain(`${phoneNumber} stops taking calls`);
    await browser.screenshot('release-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await focusedText()).toBe('Release');
    expect(await page.locator('#numbers-body tr').first().innerText()).toContain('Rent overdue');

    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'visible' });
    await page.keyboard.press('Tab');
    expect(await focusedElement(page)).toBe('release-confirm');
    await page.keyboard.press('Enter');
    await expectText('#numbers-message', `${phoneNumber} has been released.`);
    expect(await page.locator('#numbers-body tr').first().innerText()).toMatch(/Released\s+—/);
    expect(await page.getByRole('button', { name: `Release ${phoneNumber}` }).count()).toBe(0);
    const listed = await fetch(`${app.api}/api/numbers`, { headers: { authorization: `Bearer ${app.token}` } });
    expect(((await listed.json()) as { items: Array<{ phoneNumber: string; status: string }> }).items).toEqual([expect.objectContaining({ phoneNumber, status: 'released' })]);
    await browser.screenshot('released');
  });

  it('fits a 360 px wide screen with the numbers table, and kept the ledger consistent', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await openBilling();
    const overflow = await horizontalOverflow(page);
    if (overflow > 0) throw new Error(`the page is ${overflow} px wider than 360 px; overflowing: ${(await overflowingElements(page)).join(', ')}`);
    await browser.screenshot('360px');
    expect(await app.ledgerViolations()).toEqual([]);
  });
});
