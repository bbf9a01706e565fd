// The Vapi REST calls we make: provisioning imports a Twilio number as a bare number (no
// assistant, so Vapi sends assistant-request to our gate), lists and deletes them; the call
// sweeper reads a call whose end-of-call report never came (failure mode 19). fetch with a
// timeout per request.
import { z } from 'zod';

/** Used when the caller gives no timeout (VAPI_API_TIMEOUT_MS in config). */
export const VAPI_REQUEST_TIMEOUT_MS = 10_000;
/** Vapi's largest page (`limit` ≤ 1000 in its OpenAPI spec). */
export const VAPI_PAGE_SIZE = 1000;
/** Pages one listing may read: 100 × 1000 numbers, far above any real account. */
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
  limit?: number;
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
  /** Calls matching the filters (Vapi GET /call), at most `limit` (≤ 1000). */
  listCalls(query: VapiCallQuery): Promise<VapiCall[]>;
}

/** The part of the client the call sweeper and outbound calls need. */
export type VapiCallsClient = Pick<VapiClient, 'getCall' | 'createCall' | 'listCalls'>;

export function createVapiClient(cfg: { apiKey: string; apiBaseUrl: string; timeoutMs?: number }): VapiClient {
  const base = cfg.apiBaseUrl.replace(/\/+$/, '');
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
  /**
   * Vapi's list has no page token: at most `limit` numbers, and createdAt bounds (createdAtLe,
   * createdAtGe, ...). It answers newest first today, but its spec states no order, so the next
   * window follows the order the page shows: below the oldest seen if descending, above the
   * newest if ascending. Bounds are inclusive and ids already seen are skipped, so numbers that
   * share a timestamp across a page boundary are neither missed nor repeated.
   */
  async function eachPhoneNumberPage(visit: (page: VapiNumber[]) => Promise<void>): Promise<void> {
    const seen = new Set<string>();
    let bound = '';
    for (let n = 1; ; n++) {
      const raw = z.array(phoneNumber).parse(await send('GET', `/phone-number?limit=${VAPI_PAGE_SIZE}${bound}`));
      const fresh = raw.filter((p) => !seen.has(p.id));
      for (const p of fresh) seen.add(p.id);
      await visit(fresh.map((p) => ({ id: p.id, number: p.number, name: p.name, createdAt: p.createdAt })));
      if (raw.length < VAPI_PAGE_SIZE) return;
      const first = raw[0]?.createdAt;
      const last = raw.at(-1)?.createdAt;
      // More than a page sharing one timestamp cannot be paged by createdAt: fail loudly rather than miss some.
      if (fresh.length === 0 || first === undefined || last === undefined) throw new Error('Vapi phone-number listing cannot page past a full page of one createdAt');
      if (n >= VAPI_MAX_PAGES) throw new Error(`Vapi phone-number listing exceeded ${VAPI_MAX_PAGES} pages of ${VAPI_PAGE_SIZE}`);
      bound = Date.parse(first) >= Date.parse(last) ? `&createdAtLe=${encodeURIComponent(last)}` : `&createdAtGe=${encodeURIComponent(last)}`;
    }
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
    async listCalls(query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
      return z.array(vapiCall).parse(await send('GET', `/call?${params.toString()}`));
    },
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
