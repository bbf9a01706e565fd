// The billing page's only door to the service: the dashboard JWT (taken from the URL fragment,
// kept for the tab in sessionStorage), same-origin calls to the dashboard API with the token in
// the Authorization header, polling with back-off, and money as integers of the minor unit.

const TOKEN_KEY = 'billing-gates:access-token';
const REQUEST_TIMEOUT_MS = 15000;
/** A month's statement is streamed page by page; a busy month takes longer than one API call. */
const DOWNLOAD_TIMEOUT_MS = 120000;
/** Every path this module may send the token to (same origin, dashboard API only). */
const API_PATH = /^\/api\/(wallet|managed-telephony|calls|numbers)(\/[A-Za-z0-9_\-/]*)?(\?[A-Za-z0-9_\-=&]*)?$/;
/** The file name a download is saved under: the server's Content-Disposition, if it is a plain one. */
const ATTACHMENT_NAME = /^attachment; filename="([A-Za-z0-9._-]{1,100})"$/;

/**
 * Supabase's redirects land on `/billing#access_token=<jwt>&refresh_token=…&type=…`. The fragment
 * is never sent to a server; it is read once, the access token is kept for this tab only, and the
 * whole fragment is taken off the URL (history.replaceState) so it is neither bookmarked, shared
 * nor kept in the history.
 */
export function takeToken() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = fragment.get('access_token');
  if (token !== null) {
    if (token !== '') sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A random Idempotency-Key (works outside secure contexts too, unlike crypto.randomUUID). */
export function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `billing-page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export class Api {
  /** @param {string} token @param {() => void} onUnauthorized */
  constructor(token, onUnauthorized) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  /**
   * One call to the dashboard API. Never throws: a network failure is status 0 with a message.
   * @returns {Promise<{status: number, body: any}>}
   */
  async request(method, path, { body, idempotencyKey } = {}) {
    if (!API_PATH.test(path)) throw new Error(`invariant violated: the token may only be sent to the dashboard API, not ${path}`);
    const headers = { Accept: 'application/json', Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch {
      return { status: 0, body: { error: 'network_error', message: 'The service could not be reached. Check your connection and try again.' } };
    }
    let data = {};
    try {
      data = (await res.json()) ?? {};
    } catch {
      data = {};
    }
    if (res.status === 401) this.onUnauthorized();
    return { status: res.status, body: data };
  }

  get(path) {
    return this.request('GET', path);
  }

  /**
   * A file from the dashboard API (the statement's CSV): fetched with the token like any call, so
   * it cannot be a plain link. 200 → {status, blob, filename}; otherwise {status, body} as request().
   * @returns {Promise<{status: number, blob?: Blob, filename?: string, body?: any}>}
   */
  async download(path, fallbackName) {
    if (!API_PATH.test(path)) throw new Error(`invariant violated: the token may only be sent to the dashboard API, not ${path}`);
    let res;
    try {
      res = await fetch(path, {
        headers: { Authorization: `Bearer ${this.token}` },
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      });
    } catch {
      return { status: 0, body: { error: 'network_error', message: 'The service could not be reached. Check your connection and try again.' } };
    }
    if (res.status === 401) this.onUnauthorized();
    if (res.status !== 200) {
      let body = {};
      try {
        body = (await res.json()) ?? {};
      } catch {
        body = {};
      }
      return { status: res.status, body };
    }
    const named = ATTACHMENT_NAME.exec(res.headers.get('Content-Disposition') ?? '');
    return { status: 200, blob: await res.blob(), filename: named ? named[1] : fallbackName };
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function whenVisible() {
  if (!document.hidden) return Promise.resolve();
  return new Promise((resolve) => {
    const onChange = () => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', onChange);
      resolve();
    };
    document.addEventListener('visibilitychange', onChange);
  });
}

/**
 * Calls `step` until it returns true, waiting `firstDelayMs`, then growing by half each time up
 * to `maxDelayMs`. While the page is hidden nothing is polled; when it is shown again the next
 * poll comes at once and the back-off starts over. Gives up (returns false) after `maxPolls`.
 */
export async function pollWithBackoff(step, { firstDelayMs, maxDelayMs, maxPolls }) {
  let delay = firstDelayMs;
  for (let polls = 0; polls < maxPolls; polls++) {
    await sleep(delay);
    if (document.hidden) {
      await whenVisible();
      delay = firstDelayMs;
    } else {
      delay = Math.min(maxDelayMs, Math.round(delay * 1.5));
    }
    if (await step()) return true;
  }
  return false;
}

/** Digits of the currency's minor unit (2 for GBP, 0 for JPY). */
export function minorDigits(currency) {
  return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** An integer of minor units as an exact decimal string ("-1234" → "-12.34"): no float involved. */
export function decimalString(minor, digits) {
  if (!Number.isSafeInteger(minor)) throw new Error(`invariant violated: money must be an integer, got ${minor}`);
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(minor)).padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/** "£12.34" in the reader's locale, from 1234 and "gbp" (Intl formats the exact decimal string). */
export function formatMoney(minor, currency) {
  const digits = minorDigits(currency);
  return new Intl.NumberFormat(undefined, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(decimalString(minor, digits));
}

/** "50", "50.5", "50.00" (or "50,00") → minor units as an integer; anything else → undefined. */
export function parseMoney(text, currency) {
  const digits = minorDigits(currency);
  const fraction = digits === 0 ? '' : `(?:[.,](\\d{1,${digits}}))?`;
  const match = new RegExp(`^\\s*(\\d{1,9})${fraction}\\s*$`).exec(text);
  if (!match) return undefined;
  const whole = Number(match[1]) * 10 ** digits;
  const part = match[2] === undefined ? 0 : Number(match[2].padEnd(digits, '0'));
  return whole + part;
}
