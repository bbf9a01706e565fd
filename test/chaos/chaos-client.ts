// The outside world of the chaos test, speaking only the public contract (docs: CONTRACT.md):
// operators (orgs, credits, numbers), the dashboard (provision, status) and Vapi (webhooks).
// Every call is bounded by a timeout and retried a bounded number of times on a network error or
// a 5xx, the way a careful client (or Vapi with a backoff plan) would, with the same key.
import { dashboardToken } from '../support/jwt';

export const REQUEST_TIMEOUT_MS = 10_000;
export const MAX_TRIES = 8;
export const RETRY_PAUSE_MS = 400;

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export interface ClientTally {
  /** Answers with a 5xx status (a bug by the contract, even under chaos). */
  serverErrors: string[];
  /** Connection refused/reset or timeouts, retried. */
  networkErrors: number;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its CHAOS_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ChaosClient {
  readonly tally: ClientTally = { serverErrors: [], networkErrors: 0 };
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly secrets: { admin: string; jwt: string; vapi: string },
  ) {}

  /** One HTTP exchange, retried on network errors and 5xx; returns the last answer. */
  async send(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
    let last: Reply | undefined;
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        let parsed: Record<string, unknown> = {};
        try {
          parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          parsed = { raw: text };
        }
        last = { status: res.status, body: parsed };
        if (res.status < 500) return last;
        this.tally.serverErrors.push(`${method} ${path} -> ${res.status} ${text.slice(0, 200)}`);
      } catch {
        this.tally.networkErrors++;
      }
      await sleep(RETRY_PAUSE_MS * attempt);
    }
    if (last) return last;
    throw new Error(`${method} ${path}: no answer after ${MAX_TRIES} tries`);
  }

  private admin() {
    return { authorization: `Bearer ${this.secrets.admin}` };
  }

  async createOrg(name: string): Promise<string> {
    const r = await this.send('POST', '/api/admin/orgs', this.admin(), { name });
    if (r.status !== 201) throw new Error(`create org: ${r.status} ${JSON.stringify(r.body)}`);
    return String(r.body.orgId);
  }

  async credit(orgId: string, amount: number, key: string): Promise<void> {
    const r = await this.send('POST', `/api/admin/orgs/${orgId}/credits`, { ...this.admin(), 'idempotency-key': key }, { amount, reason: 'chaos funding' });
    if (r.status !== 201) throw new Error(`credit: ${r.status} ${JSON.stringify(r.body)}`);
  }

  async registerNumber(orgId: string, phoneNumber: string, vapiPhoneNumberId: string): Promise<void> {
    const r = await this.send('POST', '/api/admin/phone-numbers', this.admin(), { orgId, phoneNumber, vapiPhoneNumberId, assistantId: `asst-${vapiPhoneNumberId}` });
    if (r.status !== 201) throw new Error(`register number: ${r.status} ${JSON.stringify(r.body)}`);
  }

  private async dashboard(orgId: string) {
    let token = this.tokens.get(orgId);
    if (!token) {
      token = await dashboardToken(this.secrets.jwt, orgId, { expiresIn: '1h' });
      this.tokens.set(orgId, token);
    }
    return { authorization: `Bearer ${token}` };
  }

  async provision(orgId: string, key: string, areaCode: string): Promise<Reply> {
    return this.send('POST', '/api/managed-telephony/provision', { ...(await this.dashboard(orgId)), 'idempotency-key': key }, { areaCode, country: 'US' });
  }

  async provisionStatus(orgId: string, requestId: string): Promise<Reply> {
    return this.send('GET', `/api/managed-telephony/provisioning/${requestId}`, await this.dashboard(orgId));
  }

  async wallet(orgId: string): Promise<Reply> {
    return this.send('GET', '/api/wallet', await this.dashboard(orgId));
  }

  async webhook(message: Record<string, unknown>): Promise<Reply> {
    return this.send('POST', '/api/vapi/webhook', { 'x-vapi-secret': this.secrets.vapi }, { message });
  }
}

/**
 * The Vapi simulator's own endpoints (create, end and read calls; read what was posted to a call's
 * control URL), as the "Vapi side" of the metered calls. The simulator's random 503s and its
 * SIGSTOP stall are faults of that side, not of the service: they are retried (bounded, like
 * ChaosClient) and counted apart, never as the service's 5xx.
 */
export class SimulatorClient {
  readonly tally = { retried: 0 };

  constructor(readonly baseUrl: string) {}

  async send(method: string, path: string, body?: unknown): Promise<Reply> {
    let last: Reply | undefined;
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          method,
          // GET /call/:id wants a Bearer key (any, in the simulator).
          headers: { 'content-type': 'application/json', authorization: 'Bearer chaos' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        last = { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
        if (res.status < 500) return last;
      } catch {
        // network error, timeout (a stalled simulator) or a torn body: retried
      }
      this.tally.retried++;
      await sleep(RETRY_PAUSE_MS * attempt);
    }
    if (last) return last;
    throw new Error(`simulator ${method} ${path}: no answer after ${MAX_TRIES} tries`);
  }
}
