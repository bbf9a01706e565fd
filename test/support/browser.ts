// A real browser for the billing-page tests: Debian's Chromium (/usr/bin/chromium, or
// CHROMIUM_PATH) driven by playwright-core, headless, with a fresh profile directory per run.
// Playwright's own browser download is never used. Without Chromium the tests fail — never skip —
// with the command that installs it.
//
// Each session collects what must not happen on the page: uncaught exceptions, console errors
// (the browser's own "Failed to load resource" notice is allowed only for an answer the test
// declared expected, e.g. the 402 of a purchase with too little money), failed asset loads; and
// every request URL the page made, so a test can prove the token never left the fragment.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Where screenshots go: test-results/browser/<suite>/ (gitignored). */
export const BROWSER_OUTPUT_DIR = join(__dirname, '..', '..', 'test-results', 'browser');
const LAUNCH_TIMEOUT_MS = 30_000;

export function requireChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM_PATH}, which is missing. Install Debian's Chromium with\n` +
        `  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium\n` +
        `(or set CHROMIUM_PATH to another Chromium binary). Do not run 'playwright install': its download is not used.`,
    );
  }
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests that nobody declared expected, since the last call. */
  takeProblems(): string[];
  /** Every URL the page requested (navigations, assets, fetches), in order. */
  requests(): string[];
  /** Declares that an answer with this status from a URL matching `url` is expected. */
  expectHttpError(status: number, url: RegExp): void;
  /** Saves a full-page screenshot as <dir>/<NN>-<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

// The DOM as the page.evaluate callbacks below see it. The project's TypeScript has no DOM lib (it
// would clash with Node's types), so these module-local declarations name just what is used.
interface DomElement {
  id: string;
  className: string;
  tagName: string;
  getBoundingClientRect(): { left: number; right: number; width: number };
}
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  body: { scrollWidth: number };
  activeElement: DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
};
declare const sessionStorage: { getItem(key: string): string | null };
declare function getComputedStyle(el: DomElement): { outlineStyle: string };

const RESOURCE_NOTICE = /^Failed to load resource: the server responded with a status of (\d{3})/;

export async function openBrowser(suite: string, options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserSession> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'billing-page-chromium-'));
  const shots = join(BROWSER_OUTPUT_DIR, suite);
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1024, height: 800 },
    locale: 'en-GB',
    timeout: LAUNCH_TIMEOUT_MS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const requests: string[] = [];
  const expected: Array<{ status: number; url: RegExp }> = [];
  const isExpected = (status: number, url: string) => expected.some((e) => e.status === status && e.url.test(url));

  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const notice = RESOURCE_NOTICE.exec(msg.text());
    if (notice && isExpected(Number(notice[1]), msg.location().url)) return;
    problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('request', (req) => requests.push(req.url()));
  page.on('requestfailed', (req) => {
    // A navigation away aborts the page's own pending fetches; that is not a failure of the page.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText ?? 'unknown'})`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !isExpected(res.status(), res.url())) problems.push(`unexpected HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });

  let shot = 0;
  return {
    context,
    page,
    takeProblems: () => problems.splice(0),
    requests: () => [...requests],
    expectHttpError: (status, url) => void expected.push({ status, url }),
    async screenshot(name) {
      shot += 1;
      const file = join(shots, `${String(shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** How far the document is wider than the viewport (0 when nothing overflows horizontally). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth);
}

/** Elements wider than the viewport or reaching past its right edge, for the failure message. */
export async function overflowingElements(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('body *'))
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
      })
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`)
      .slice(0, 20);
  });
}

/** The focused element's id (or class when it has none), '' when nothing is focused. */
export function focusedElement(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.id || document.activeElement?.className || '');
}

/** The outline style of the focused element (focus must be visible: not 'none'). */
export function focusedOutlineStyle(page: Page): Promise<string> {
  return page.evaluate(() => (document.activeElement ? getComputedStyle(document.activeElement).outlineStyle : 'none'));
}

/** A value of the page's sessionStorage. */
export function sessionItem(page: Page, key: string): Promise<string | null> {
  return page.evaluate((k) => sessionStorage.getItem(k), key);
}
