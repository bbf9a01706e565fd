// The Vapi REST calls provisioning makes: import a Twilio number as a bare number (no assistant,
// so Vapi sends assistant-request to our gate), list, delete. fetch with a timeout per request.
import { z } from 'zod';

export const VAPI_REQUEST_TIMEOUT_MS = 10_000;
const LIST_LIMIT = 1000;

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

const phoneNumber = z.object({ id: z.string().min(1), number: z.string().optional(), name: z.string().nullish() }).passthrough();
export type VapiNumber = { id: string; number: string | undefined; name: string | null | undefined };

export interface VapiImport {
  number: string;
  name: string;
  twilioAccountSid: string;
  twilioAuthToken: string;
  serverUrl: string;
  serverSecret: string;
}

export interface VapiClient {
  listPhoneNumbers(): Promise<VapiNumber[]>;
  importTwilioNumber(input: VapiImport): Promise<VapiNumber>;
  /** 'deleted', or 'already_gone' on 404. */
  deletePhoneNumber(id: string): Promise<'deleted' | 'already_gone'>;
}

export function createVapiClient(cfg: { apiKey: string; apiBaseUrl: string }): VapiClient {
  const base = cfg.apiBaseUrl.replace(/\/+$/, '');
  async function send(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${cfg.apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(VAPI_REQUEST_TIMEOUT_MS),
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
  return {
    async listPhoneNumbers() {
      return z.array(phoneNumber).parse(await send('GET', `/phone-number?limit=${LIST_LIMIT}`)).map((p) => ({ id: p.id, number: p.number, name: p.name }));
    },
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
  };
}
