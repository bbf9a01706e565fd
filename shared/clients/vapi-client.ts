// The Vapi REST calls we make: provisioning imports a Twilio number as a bare number (no
// assistant, so Vapi sends assistant-request to our gate), lists and deletes them; the call
// sweeper reads a call whose end-of-call report never came (failure mode 19); outbound calls are
// placed, and a call whose answer was lost is looked for in the number's call listing. fetch with
// a timeout per request; both listings read page by page (eachPage).
import { z } from 'zod';

/** Used when the caller gives no timeout (VAPI_API_TIMEOUT_MS in config). */
export const VAPI_REQUEST_TIMEOUT_MS = 10_000;
/** Vapi's largest page (`limit` ≤ 1000 in its OpenAPI spec). */
export const VAPI_PAGE_SIZE = 1000;
/** Pages one listing may read: 100 × 1000 numbers, far above any real account, or calls of one
 * number in the outbound sweep's 20-minute window (83 a second). */
export const VAPI_MAX_PAGES = 100;

/** A non-2xx answer from Vapi; status drives retry or give up. */
export class VapiApiError extends Error {
  override name = 'VapiApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const phoneNumber = z.object({ id: z.string().min(1), number: z.string().optional(), name: z.string().nullish(), createdAt: z.string().optional() }).passthrough();
export type VapiNumber = { id: string; number: string | undefined; name: string | null | undefined; createdAt?: string | undefined };

export interface VapiImport {
  number: string;
  name: string;
  twilioAccountSid: string;
  twilioAuthToken: string;
  serverUrl: string;
  serverSecret: string;
}

const vapiCall = z.looseObject({
  id: z.string(),
  status: z.string(),
  startedAt: z.string().optional().nullable(),
  endedAt: z.string().optional().nullable(),
  endedReason: z.string().optional().nullable(),
  phoneNumberId: z.string().optional().nullable(),
  createdAt: z.string().optional(),
  assistantOverrides: z.looseObject({ metadata: z.record(z.string(), z.unknown()).optional().nullable() }).optional().nullable(),
  monitor: z.looseObject({ controlUrl: z.string().optional().nullable() }).optional().nullable(),
  customer: z.looseObject({ number: z.string().optional().nullable() }).optional().nullable().catch(undefined),
});
export type VapiCall = z.output<typeof vapiCall>;

/** Vapi POST /call (CreateCallDTO): an outbound phone call from one of our numbers. */
export interface VapiCreateCall {
  assistantId: string;
  phoneNumberId: string;
  customer: { number: string };
  assistantOverrides: { maxDurationSeconds: number; metadata: Record<string, unknown> };
}

/** Vapi GET /call's filters (CallController_findAll); createdAt bounds are inclusive ISO times. */
export interface VapiCallQuery {
  phoneNumberId?: string;
  createdAtGe?: string;
  createdAtLe?: string;
}
export type GetCallResult = { kind: 'found'; call: VapiCall } | { kind: 'not_found' };

export interface VapiClient {
  /** Every phone number of the account, all pages (see eachPhoneNumberPage). */
  listPhoneNumbers(): Promise<VapiNumber[]>;
  /** Every phone number of the account, page by page, each page handed to `visit` as it arrives. */
  eachPhoneNumberPage(visit: (page: VapiNumber[]) => Promise<void>): Promise<void>;
  importTwilioNumber(input: VapiImport): Promise<VapiNumber>;
  /** 'deleted', or 'already_gone' on 404. */
  deletePhoneNumber(id: string): Promise<'deleted' | 'already_gone'>;
  /** A call's final state (status, startedAt, endedAt); not_found when Vapi does not know it. */
  getCall(callId: string): Promise<GetCallResult>;
  /** Places an outbound call (Vapi POST /call); its answer, Vapi's call object. */
  createCall(input: VapiCreateCall): Promise<VapiCall>;
  /**
   * The calls matching the filters, page by page in the order Vapi lists them (newest first
   * today). The first value `visit` returns (anything but undefined) ends the listing and is its
   * answer: a lookup reads no further than the page that has what it looks for.
   */
  eachCallPage<R>(query: VapiCallQuery, visit: (page: VapiCall[]) => Promise<R | undefined>): Promise<R | undefined>;
}

/** The part of the client the call sweeper and outbound calls need. */
export type VapiCallsClient = Pick<VapiClient, 'getCall' | 'createCall' | 'eachCallPage'>;

/** One of Vapi's lists, as eachPage reads it. */
interface VapiListing<T> {
  /** GET path: /phone-number, /call (named in errors). */
  path: string;
  item: z.ZodType<T>;
  /** Sent with every page (e.g. phoneNumberId). */
  filters: Record<string, string | undefined>;
  /** The caller's window, inclusive ISO times: a page's own bound narrows it, never widens it. */
  createdAtGe: string | undefined;
  createdAtLe: string | undefined;
}

/** How many items a page asks for, and how many pages one listing may read. */
interface Paging {
  pageSize: number;
  maxPages: number;
}

/**
 * Vapi's lists have no page token: at most `limit` items, and createdAt bounds (createdAtLe,
 * createdAtGe, ...). They answer newest first today, but the spec states no order, so the next
 * window follows the order the page shows: up to the oldest seen if descending, from the newest
 * if ascending, always inside the caller's window. Bounds are inclusive and ids already seen are
 * skipped, so items that share a timestamp across a page boundary are neither missed nor
 * repeated. A listing that cannot be read whole fails loudly rather than answering part of it:
 * more than a page sharing one createdAt (no bound can get past them), or more than maxPages.
 */
async function eachPage<T extends { id: string; createdAt?: string | undefined }, R>(
  get: (pathAndQuery: string) => Promise<unknown>,
  { pageSize, maxPages }: Paging,
  listing: VapiListing<T>,
  visit: (page: T[]) => Promise<R | undefined>,
): Promise<R | undefined> {
  const seen = new Set<string>();
  let { createdAtGe: ge, createdAtLe: le } = listing;
  for (let n = 1; ; n++) {
    const params = new URLSearchParams({ limit: String(pageSize) });
    for (const [k, v] of Object.entries({ ...listing.filters, createdAtGe: ge, createdAtLe: le })) if (v !== undefined) params.set(k, v);
    const raw = z.array(listing.item).parse(await get(`${listing.path}?${params.toString()}`));
    const fresh = raw.filter((x) => !seen.has(x.id));
    for (const x of fresh) seen.add(x.id);
    const answer = await visit(fresh);
    if (answer !== undefined || raw.length < pageSize) return answer;
    const firstAt = Date.parse(raw[0]?.createdAt ?? '');
    const last = raw.at(-1)?.createdAt ?? '';
    const lastAt = Date.parse(last);
    // No bound gets past a full page of one timestamp (or of none), and a page of nothing new
    // means the bound did not move: either way the rest would be missed.
    if (!Number.isFinite(firstAt) || !Number.isFinite(lastAt) || firstAt === lastAt || fresh.length === 0) {
      throw new Error(`Vapi ${listing.path} listing cannot page past a full page of one createdAt`);
    }
    if (n >= maxPages) throw new Error(`Vapi ${listing.path} listing exceeded ${maxPages} pages of ${pageSize}`);
    if (firstAt > lastAt) le = le !== undefined && Date.parse(le) <= lastAt ? le : last;
    else ge = ge !== undefined && Date.parse(ge) >= lastAt ? ge : last;
  }
}

export interface VapiClientConfig {
  apiKey: string;
  apiBaseUrl: string;
  timeoutMs?: number;
  /** Items asked for per page (1..VAPI_PAGE_SIZE); smaller only where a test wants many pages of few items. */
  pageSize?: number;
  /** Pages one listing may read before it fails (≥ 1). */
  maxPages?: number;
}

export function createVapiClient(cfg: VapiClientConfig): VapiClient {
  const base = cfg.apiBaseUrl.replace(/\/+$/, '');
  const paging: Paging = { pageSize: cfg.pageSize ?? VAPI_PAGE_SIZE, maxPages: cfg.maxPages ?? VAPI_MAX_PAGES };
  if (!Number.isInteger(paging.pageSize) || paging.pageSize < 1 || paging.pageSize > VAPI_PAGE_SIZE) throw new Error(`Vapi page size ${paging.pageSize} is not 1..${VAPI_PAGE_SIZE}`);
  if (!Number.isInteger(paging.maxPages) || paging.maxPages < 1) throw new Error(`Vapi page limit ${paging.maxPages} is not a whole number ≥ 1`);
  async function send(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${cfg.apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(cfg.timeoutMs ?? VAPI_REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        const m = (JSON.parse(text) as { message?: unknown }).message;
        if (m !== undefined) message = Array.isArray(m) ? m.join('; ') : String(m);
      } catch {
        // not JSON: keep the text
      }
      throw new VapiApiError(res.status, `Vapi ${method} ${path}: ${res.status} ${message}`);
    }
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }
  const get = (pathAndQuery: string) => send('GET', pathAndQuery);
  async function eachPhoneNumberPage(visit: (page: VapiNumber[]) => Promise<void>): Promise<void> {
    await eachPage(get, paging, { path: '/phone-number', item: phoneNumber, filters: {}, createdAtGe: undefined, createdAtLe: undefined }, async (page) => {
      await visit(page.map((p) => ({ id: p.id, number: p.number, name: p.name, createdAt: p.createdAt })));
      return undefined;
    });
  }
  function eachCallPage<R>(query: VapiCallQuery, visit: (page: VapiCall[]) => Promise<R | undefined>): Promise<R | undefined> {
    return eachPage(get, paging, { path: '/call', item: vapiCall, filters: { phoneNumberId: query.phoneNumberId }, createdAtGe: query.createdAtGe, createdAtLe: query.createdAtLe }, visit);
  }
  return {
    async listPhoneNumbers() {
      const all: VapiNumber[] = [];
      await eachPhoneNumberPage(async (page) => {
        all.push(...page);
      });
      return all;
    },
    eachPhoneNumberPage,
    async importTwilioNumber(i) {
      const p = phoneNumber.parse(
        await send('POST', '/phone-number', {
          provider: 'twilio',
          number: i.number,
          twilioAccountSid: i.twilioAccountSid,
          twilioAuthToken: i.twilioAuthToken,
          name: i.name,
          // Bare number: no assistantId, so every inbound call asks our gate (failure mode 15).
          server: { url: i.serverUrl, secret: i.serverSecret },
        }),
      );
      return { id: p.id, number: p.number, name: p.name };
    },
    async deletePhoneNumber(id) {
      try {
        await send('DELETE', `/phone-number/${encodeURIComponent(id)}`);
        return 'deleted';
      } catch (err) {
        if (err instanceof VapiApiError && err.status === 404) return 'already_gone';
        throw err;
      }
    },
    async createCall(input) {
      return vapiCall.parse(await send('POST', '/call', input));
    },
    eachCallPage,
    async getCall(callId) {
      try {
        return { kind: 'found', call: vapiCall.parse(await send('GET', `/call/${encodeURIComponent(callId)}`)) };
      } catch (err) {
        if (err instanceof VapiApiError && err.status === 404) return { kind: 'not_found' };
        throw err;
      }
    },
  };
}
