// The chaos test's Stripe, beyond the sandbox simulator itself (run inside simulators-process.ts):
//
// - Stripe's webhook retries. Stripe retries a delivery that got no 2xx answer, with backoff, for
//   up to three days; the simulator tries three times within about 300 ms and gives up, so an
//   event sent while the API was SIGKILLed would be lost for good, which Stripe never does. This
//   loop re-sends (signed anew, as Stripe does) every event none of whose deliveries got a 2xx,
//   first a few seconds after it was seen failing, then with backoff, until one does.
// - An inspection endpoint for the test's final checks (not part of Stripe): every PaymentIntent
//   the simulator holds (what Stripe charged: the truth the ledger's `topup` entries must match)
//   and every delivery's answer (a 4xx or 5xx from the service is a bug; no answer is the API
//   being down, which the retries cover).
import { createServer, type Server } from 'node:http';
import Stripe from 'stripe';
import type { StripeSimulator } from '../../sandbox/stripe-simulator';

export interface StripeRedeliveryOptions {
  /** How often the loop looks for undelivered events (ms). */
  everyMs: number;
  /** How long after an event was first seen undelivered its first re-send waits (ms): the simulator's own tries run first. */
  firstAfterMs: number;
  /** The longest wait between two re-sends of one event (ms); they start 1 s apart and double. */
  maxGapMs: number;
}

export interface Redelivery {
  id: string;
  type: string;
  status: number;
}

/** What the inspection endpoint answers. */
export interface StripeInspection {
  paymentIntents: Array<{ id: string; status: string; amount: number; currency: string; created: number; metadata: Record<string, string> }>;
  /** Every delivery of every event: the simulator's own tries, then the re-sends. */
  deliveries: Array<{ id: string; type: string; status: number; resent: boolean }>;
  events: number;
}

const ok = (status: number) => status >= 200 && status < 300;

export function startStripeRedelivery(sim: StripeSimulator, webhookSecret: string, options: StripeRedeliveryOptions) {
  const signer = new Stripe('sk_test_chaos_redelivery');
  const redeliveries: Redelivery[] = [];
  const state = new Map<string, { tries: number; nextAt: number; busy: boolean }>();

  async function resend(event: Record<string, unknown>): Promise<number> {
    const url = sim.webhookUrl;
    if (url === undefined) return 0;
    const payload = JSON.stringify(event);
    try {
      const header = signer.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload, signal: AbortSignal.timeout(5000) });
      await res.body?.cancel().catch(() => undefined);
      return res.status;
    } catch {
      return 0;
    }
  }

  const timer = setInterval(() => {
    const now = Date.now();
    const delivered = new Set<string>();
    const failed = new Set<string>();
    for (const d of [...sim.deliveries, ...redeliveries]) (ok(d.status) ? delivered : failed).add(d.id);
    for (const event of sim.events) {
      const id = String(event.id);
      if (delivered.has(id) || !failed.has(id)) continue;
      let s = state.get(id);
      if (s === undefined) {
        s = { tries: 0, nextAt: now + options.firstAfterMs, busy: false };
        state.set(id, s);
      }
      if (s.busy || now < s.nextAt) continue;
      const slot = s;
      slot.busy = true;
      slot.tries++;
      void resend(event).then((status) => {
        redeliveries.push({ id, type: String(event.type), status });
        slot.busy = false;
        slot.nextAt = Date.now() + Math.min(options.maxGapMs, 1000 * 2 ** (slot.tries - 1));
      });
    }
  }, options.everyMs);
  timer.unref();

  return {
    redeliveries,
    inspect(): StripeInspection {
      return {
        paymentIntents: [...sim.paymentIntents.values()].map((pi) => ({
          id: String(pi.id),
          status: String(pi.status),
          amount: Number(pi.amount),
          currency: String(pi.currency),
          created: Number(pi.created),
          metadata: (pi.metadata ?? {}) as Record<string, string>,
        })),
        deliveries: [...sim.deliveries.map((d) => ({ ...d, resent: false })), ...redeliveries.map((d) => ({ ...d, resent: true }))],
        events: sim.events.length,
      };
    },
    stop: () => clearInterval(timer),
  };
}

/** GET /stripe on 127.0.0.1:port answers `inspect()` as JSON. */
export function startInspection(port: number, inspect: () => StripeInspection): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stripe') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(inspect()));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
