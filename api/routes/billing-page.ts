// GET /billing and its assets (CONTRACT §9): static files from api/billing-page/, no build step.
// Every answer under /billing — the page, its assets, a 404 — carries the same strict headers:
// a Content-Security-Policy that allows only this origin's own script, style and API (no inline
// script or style anywhere), no referrer, no MIME sniffing. The dashboard JWT reaches the page in
// the URL fragment, which browsers never send to a server, so no request log can hold it.
import path from 'node:path';
import express, { Router, type Response } from 'express';
import type { Services } from '../../shared/process/services';

export const BILLING_PAGE_DIR = path.join(__dirname, '..', 'billing-page');

/** The CSP of the page and its assets; `frameAncestors` is BILLING_PAGE_FRAME_ANCESTORS. */
export function billingPageCsp(frameAncestors: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

function securityHeaders(res: Response, csp: string): void {
  res.set({
    'Content-Security-Policy': csp,
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    // Small files, revalidated by ETag: a deploy is seen at once, a reload costs a 304.
    'Cache-Control': 'no-cache',
  });
}

export function billingPageRoutes({ config }: Services): Router {
  const csp = billingPageCsp(config.billingPage.frameAncestors);
  const r = Router();
  r.use((_req, res, next) => {
    securityHeaders(res, csp);
    next();
  });
  r.get('/', (_req, res) => {
    res.type('html').sendFile('index.html', { root: BILLING_PAGE_DIR, dotfiles: 'deny' });
  });
  r.use(express.static(BILLING_PAGE_DIR, { index: false, dotfiles: 'ignore', redirect: false, fallthrough: true }));
  return r;
}
