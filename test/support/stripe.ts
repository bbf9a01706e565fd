// A world for money-in tests: the service's app on a real port, the Stripe simulator as a real
// HTTP server delivering signed events to it, the real `stripe` SDK pointed at the simulator, and
// (optionally) the money-in workers and outbox relay of the worker process. With `stripeProxy`, the
// service reaches the simulator through a TCP proxy the test can break (a Stripe outage, or
// answers lost on the way back), while the simulator's webhooks still reach the service.
import request from 'supertest';
import Stripe from 'stripe';
import { listenLocal } from '../../sandbox/listen';
import { startStripeSimulator, type StripeSimulator } from '../../sandbox/stripe-simulator';
import { startMoneyInWorkers } from '../../workers/money-in-worker';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from './context';
import { dashboardToken } from './jwt';
import { createTcpProxy, type TcpProxy } from './tcp-proxy';

export const TEST_STRIPE_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

export interface StripeWorld {
  ctx: TestContext;
  sim: StripeSimulator;
  appUrl: string;
  /** Between the service and the simulator, with `stripeProxy`. */
  proxy: TcpProxy | undefined;
  /** Starts the money-in workers and the outbox relay (when created without them); close stops them. */
  startWorkers(): void;
  /** Sends simulator events to the service again, signed (Stripe's webhook retries). */
  redeliver(events: Array<Record<string, unknown>>): Promise<number[]>;
  close(): Promise<void>;
  org(balance?: number): Promise<{ orgId: string; token: string }>;
  topUp(token: string, amount: number, key?: string): Promise<request.Response>;
  pay(sessionId: string, card: string): Promise<{ status: number; body: Record<string, unknown> }>;
  simPost(path: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }>;
  balance(orgId: string): Promise<number>;
}

export async function createStripeWorld(options: { workers?: boolean; stripeProxy?: boolean; env?: Record<string, string> } = {}): Promise<StripeWorld> {
  const sim = await startStripeSimulator({ webhookSecret: TEST_STRIPE_WEBHOOK_SECRET });
  const proxy = options.stripeProxy ? await createTcpProxy('127.0.0.1', sim.port) : undefined;
  const ctx = await createTestContext({
    STRIPE_SECRET_KEY: 'sk_test_0123456789abcdef',
    STRIPE_WEBHOOK_SECRET: TEST_STRIPE_WEBHOOK_SECRET,
    STRIPE_API_BASE_URL: proxy ? `http://127.0.0.1:${proxy.port}` : sim.url,
    MONEY_OUTBOX_POLL_MS: '50',
    WALLET_EVENT_DELIVERY_BACKOFF_MS: '50',
    ...options.env,
  });
  const server = await listenLocal(ctx.app());
  const appUrl = server.url;
  sim.webhookUrl = `${appUrl}/api/stripe/webhook`;
  let workers = options.workers ? startMoneyInWorkers(ctx.services) : undefined;
  const signer = new Stripe('sk_test_signer_only');
  const simPost = async (path: string, body: Record<string, unknown>) => {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    ctx,
    sim,
    appUrl,
    proxy,
    startWorkers() {
      workers ??= startMoneyInWorkers(ctx.services);
    },
    async redeliver(events) {
      const statuses: number[] = [];
      for (const e of events) {
        const payload = JSON.stringify(e);
        const header = signer.webhooks.generateTestHeaderString({ payload, secret: TEST_STRIPE_WEBHOOK_SECRET });
        const res = await fetch(`${appUrl}/api/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload });
        await res.body?.cancel().catch(() => undefined);
        statuses.push(res.status);
      }
      return statuses;
    },
    async close() {
      await workers?.close(2000);
      await proxy?.down();
      await server.close();
      await sim.close();
      await ctx.close();
    },
    async org(balance = 0) {
      const orgId = await createFundedOrg(ctx.services, balance);
      return { orgId, token: await dashboardToken(TEST_JWT_SECRET, orgId) };
    },
    topUp: (token, amount, key = `k-${Math.random().toString(36).slice(2)}`) =>
      request(ctx.app()).post('/api/wallet/top-ups').set('authorization', `Bearer ${token}`).set('idempotency-key', key).send({ amount }),
    pay: (sessionId, card) => simPost(`/sandbox/checkout/sessions/${sessionId}/pay`, { card }),
    simPost,
    async balance(orgId) {
      const w = await ctx.services.store.getWallet(orgId);
      if (!w) throw new Error('no wallet');
      return w.balance;
    },
  };
}
