// Proves how the billing page is served (CONTRACT §9), without a browser: /billing and every asset
// and miss under it carry the strict CSP (only this origin's script, style and API; no inline
// anything), no referrer and nosniff; the HTML has no inline script, style or event handler, and
// loads only same-origin files that exist; BILLING_PAGE_FRAME_ANCESTORS is the one knob and is
// validated. The page itself is walked in a real browser in test/browser/.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { BILLING_PAGE_DIR, billingPageCsp } from '../../api/routes/billing-page';
import { ConfigError, loadConfig } from '../../shared/config';
import { createTestContext, type TestContext } from '../support/context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => ctx.close());

const STRICT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'";

describe('GET /billing', () => {
  it('serves the page as HTML with the strict CSP, no referrer and nosniff', async () => {
    const res = await request(ctx.app()).get('/billing');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(STRICT_CSP);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each([
    ['/billing/billing-page.js', /^text\/javascript|^application\/javascript/],
    ['/billing/billing-api.js', /^text\/javascript|^application\/javascript/],
    ['/billing/billing.css', /^text\/css/],
    ['/billing/favicon.svg', /^image\/svg\+xml/],
  ])('serves %s with its type and the same CSP', async (path, type) => {
    const res = await request(ctx.app()).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(type);
    expect(res.headers['content-security-policy']).toBe(STRICT_CSP);
  });

  it('answers a missing asset or a path escape with the JSON 404 and still the CSP', async () => {
    for (const path of ['/billing/nope.js', '/billing/../api/app.ts', '/billing/%2e%2e/app.ts', '/billing/.hidden']) {
      const res = await request(ctx.app()).get(path);
      expect([400, 404]).toContain(res.status);
      expect(res.text).not.toContain('createApp');
    }
    const miss = await request(ctx.app()).get('/billing/nope.js');
    expect(miss.body).toEqual({ error: 'not_found', message: 'No such endpoint.' });
    expect(miss.headers['content-security-policy']).toBe(STRICT_CSP);
  });
});

describe('the page files', () => {
  const html = readFileSync(join(BILLING_PAGE_DIR, 'index.html'), 'utf8');

  it('have no inline script, inline style or inline event handler', () => {
    for (const script of html.match(/<script\b[^>]*>/g) ?? []) expect(script).toMatch(/\bsrc="\/billing\/[a-z-]+\.js"/);
    expect(html).not.toMatch(/<script\b[^>]*>[^<\s]/);
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('load only files of the page folder, all of which exist', () => {
    const files = readdirSync(BILLING_PAGE_DIR);
    const refs = [...html.matchAll(/\b(?:src|href)="([^"#]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref).toMatch(/^\/billing\/[a-z-]+\.(js|css|svg)$/);
      expect(files).toContain(ref.slice('/billing/'.length));
    }
    for (const js of files.filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(join(BILLING_PAGE_DIR, js), 'utf8');
      for (const [, imported] of source.matchAll(/from '([^']+)'/g)) expect(files).toContain((imported as string).replace(/^\.\//, ''));
      expect(source).not.toMatch(/localStorage|innerHTML|eval\(/);
    }
  });
});

describe('BILLING_PAGE_FRAME_ANCESTORS', () => {
  it("defaults to 'self' and takes 'none' or https origins", () => {
    expect(loadConfig({}).billingPage.frameAncestors).toBe("'self'");
    const embedded = loadConfig({ BILLING_PAGE_FRAME_ANCESTORS: "'self' https://app.example.com https://*.example.org:8443" });
    expect(billingPageCsp(embedded.billingPage.frameAncestors)).toMatch(/; frame-ancestors 'self' https:\/\/app\.example\.com https:\/\/\*\.example\.org:8443$/);
    expect(loadConfig({ BILLING_PAGE_FRAME_ANCESTORS: "'none'" }).billingPage.frameAncestors).toBe("'none'");
  });

  it('refuses anything that could widen the policy, naming the variable', () => {
    for (const bad of ['*', 'http://app.example.com', "'self'; script-src *", "'unsafe-inline'", 'https://a.example.com;', "'none' https://a.example.com"]) {
      expect(() => loadConfig({ BILLING_PAGE_FRAME_ANCESTORS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ BILLING_PAGE_FRAME_ANCESTORS: bad })).toThrow(/BILLING_PAGE_FRAME_ANCESTORS/);
    }
  });
});
