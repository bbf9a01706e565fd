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
  /**
   * 5xx answers the contract gives for a third party's failure (a top-up while Stripe cannot be
   * reached: 502 payment_provider_unavailable), retried with the same key; the test checks that
   * each came while that third party was really down.
   */
  providerUnavailable: Array<{ sentAt: number; at: number; line: string }>;
}

export interface SendOptions {
  /** Retry (network errors, 5xx) until this time (ms since the epoch) instead of MAX_TRIES times. */
  untilMs?: number;
  /** A 5xx answer the contract allows here: counted in `providerUnavailable`, not as a server error. */
  providerFailure?: (status: number, body: Record<string, unknown>) => boolean;
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
  readonly tally: ClientTally = { serverErrors: [], networkErrors: 0, providerUnavailable: [] };
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly secrets: { admin: string; jwt: string; vapi: string },
  ) {}

  /** One HTTP exchange, retried on network errors and 5xx; returns the last answer. */
  async send(method: string, path: string, headers: Record<string, string>, body?: unknown, options: SendOptions = {}): Promise<Reply> {
    let last: Reply | undefined;
    const more = (attempt: number) => (options.untilMs === undefined ? attempt <= MAX_TRIES : attempt === 1 || Date.now() < options.untilMs);
    for (let attempt = 1; more(attempt); attempt++) {
      const sentAt = Date.now();
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
        const line = `${method} ${path} -> ${res.status} ${text.slice(0, 200)}`;
        if (options.providerFailure?.(res.status, parsed)) this.tally.providerUnavailable.push({ sentAt, at: Date.now(), line });
        else this.tally.serverErrors.push(line);
      } catch {
        this.tally.networkErrors++;
      }
      await sleep(Math.min(RETRY_PAUSE_MS * attempt, options.untilMs === undefined ? Infinity : RETRY_PAUSE_MS * 3));
    }
    if (last) return last;
    throw new Error(`${method} ${path}: no answer after ${options.untilMs === undefined ? `${MAX_TRIES} tries` : 'retrying until its deadline'}`);
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

  /**
   * POST /api/wallet/top-ups (CONTRACT §7). While Stripe cannot be reached the service answers 502
   * payment_provider_unavailable ("retry with the same Idempotency-Key"): the client does, until
   * `untilMs`, and those answers are counted apart from the service's own 5xx.
   */
  async topUp(orgId: string, key: string, amount: number, untilMs: number): Promise<Reply> {
    return this.send('POST', '/api/wallet/top-ups', { ...(await this.dashboard(orgId)), 'idempotency-key': key }, { amount }, {
      untilMs,
      providerFailure: (status, body) => status === 502 && body.error === 'payment_provider_unavailable',
    });
  }

  async topUpStatus(orgId: string, topUpId: string): Promise<Reply> {
    return this.send('GET', `/api/wallet/top-ups/${topUpId}`, await this.dashboard(orgId));
  }

  async autoRecharge(orgId: string): Promise<Reply> {
    return this.send('GET', '/api/wallet/auto-recharge', await this.dashboard(orgId));
  }

  async putAutoRecharge(orgId: string, settings: { enabled: boolean; threshold: number; amount: number }): Promise<Reply> {
    return this.send('PUT', '/api/wallet/auto-recharge', await this.dashboard(orgId), settings);
  }

  async webhook(message: Record<string, unknown>): Promise<Reply> {
    return this.send('POST', '/api/vapi/webhook', { 'x-vapi-secret': this.secrets.vapi }, { message });
  }
}

/**
 * A simulator, from the outside. For Vapi: its own endpoints (create, end and read calls; read
 * what was posted to a call's control URL), as the "Vapi side" of the metered calls. For Stripe:
 * the customer's side of a checkout (open its page, pay it with a test card) and Stripe's API to
 * read a session back. The simulators' random 503s, their outages and their SIGSTOP stall are
 * faults of that side, not of the service: they are retried (bounded, like ChaosClient) and
 * counted apart, never as the service's 5xx.
 */
export class SimulatorClient {
  readonly tally = { retried: 0 };

  constructor(readonly baseUrl: string) {}

  /**
   * Retried on network errors and 5xx, MAX_TRIES times or, with `untilMs`, until then (through a
   * simulator's outage). A body that is not JSON (the Stripe simulator's checkout page) is kept
   * as `{ raw }`.
   */
  async send(method: string, path: string, body?: unknown, options: { untilMs?: number } = {}): Promise<Reply> {
    let last: Reply | undefined;
    const more = (attempt: number) => (options.untilMs === undefined ? attempt <= MAX_TRIES : attempt === 1 || Date.now() < options.untilMs);
    for (let attempt = 1; more(attempt); attempt++) {
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          method,
          // GET /call/:id wants a Bearer key (any, in the simulators).
          headers: { 'content-type': 'application/json', authorization: 'Bearer chaos' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        let parsed: Record<string, unknown>;
        try {
          parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          parsed = { raw: text };
        }
        last = { status: res.status, body: parsed };
        if (res.status < 500) return last;
      } catch {
        // network error or timeout (a stalled simulator): retried
      }
      this.tally.retried++;
      await sleep(Math.min(RETRY_PAUSE_MS * attempt, options.untilMs === undefined ? Infinity : RETRY_PAUSE_MS * 3));
    }
    if (last) return last;
    throw new Error(`simulator ${method} ${path}: no answer ${options.untilMs === undefined ? `after ${MAX_TRIES} tries` : 'before its deadline'}`);
  }
}
