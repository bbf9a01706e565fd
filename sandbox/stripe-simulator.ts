// A stateful stand-in for the part of Stripe's REST API that money in uses (CONTRACT §6):
// customers, Checkout Sessions (create, retrieve, expire), PaymentIntents (off-session with a
// saved card), payment methods, charges, refunds, and GET /v1/events. Answers carry every field
// of Stripe's own example objects (stripe-shapes.json, from stripe/openapi fixtures3.json; a test
// checks them), so the real `stripe` SDK runs against it unchanged. Events are signed with the
// webhook secret exactly as Stripe signs them (the SDK's generateTestHeaderString), so
// stripe.webhooks.constructEvent accepts them, and POSTed to the webhook URL.
//
// Test cards: 4242424242424242 pays; 4000000000000002 is declined (the session stays open);
// 4000000000000259 pays and is then disputed; 4000002760003184 pays in checkout but every
// off-session charge fails with authentication_required; 4000000000000341 is declined everywhere.
// Test endpoints (answer after the events they cause were delivered):
//   POST /sandbox/checkout/sessions/:id/pay {card}    what the page's Pay button does
//   POST /sandbox/checkout/sessions/:id/expire        the session expires
//   POST /sandbox/charges/:id/refund {amount}         a (partial) refund
//   POST /sandbox/charges/:id/dispute {outcome}       a dispute's events: won, lost or open; on a
//                                                     charge whose dispute is open, resolves it
//   POST /sandbox/payment_methods/:id/card {card}     the saved card behaves as another test card
//   POST /sandbox/outage {seconds, status}            for N seconds every other request (the API
//                                                     and the checkout page) gets that status and
//                                                     Stripe's api_error body (sandbox-outage.ts)
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import Stripe from 'stripe';
import shapes from './stripe-shapes.json';
import { listenLocal } from './listen';
import { createOutageRoutes, createSandboxOutage, type SandboxOutage } from './sandbox-outage';

type Obj = Record<string, unknown>;
const BODY_LIMIT = '64kb';
/** Events kept for GET /v1/events; older ones are dropped. */
const MAX_EVENTS = 5000;
const DELIVERY_ATTEMPTS = 3;
const DELIVERY_TIMEOUT_MS = 5000;
const SESSION_LIFETIME_SECONDS = 24 * 3600;

export const TEST_CARDS = {
  pays: '4242424242424242',
  declined: '4000000000000002',
  disputed: '4000000000000259',
  authenticationRequired: '4000002760003184',
  alwaysDeclined: '4000000000000341',
} as const;

type CardBehaviour = { checkout: 'pays' | 'declined'; offSession: 'pays' | 'card_declined' | 'authentication_required'; dispute: boolean };
function behaviour(card: string): CardBehaviour | undefined {
  switch (card) {
    case TEST_CARDS.pays:
      return { checkout: 'pays', offSession: 'pays', dispute: false };
    case TEST_CARDS.declined:
    case TEST_CARDS.alwaysDeclined:
      return { checkout: 'declined', offSession: 'card_declined', dispute: false };
    case TEST_CARDS.disputed:
      return { checkout: 'pays', offSession: 'pays', dispute: true };
    case TEST_CARDS.authenticationRequired:
      return { checkout: 'pays', offSession: 'authentication_required', dispute: false };
    default:
      return undefined;
  }
}

export interface DeliveredEvent {
  id: string;
  type: string;
  status: number;
}

export interface StripeSimulator {
  url: string;
  port: number;
  events: Obj[];
  deliveries: DeliveredEvent[];
  sessions: Map<string, Obj>;
  paymentIntents: Map<string, Obj>;
  charges: Map<string, Obj>;
  /** Where events go; may be changed after start (tests start the service after the simulator). */
  webhookUrl: string | undefined;
  /** The outage POST /sandbox/outage starts; tests may also start one here. */
  outage: SandboxOutage;
  close(): Promise<void>;
}

class StripeApiError {
  constructor(
    readonly status: number,
    readonly body: Obj,
  ) {}
}

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
function template(name: keyof typeof shapes.resources): Obj {
  return structuredClone(shapes.resources[name]) as Obj;
}
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const intOf = (v: unknown): number | undefined => (typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : typeof v === 'number' && Number.isInteger(v) ? v : undefined);
const metadataOf = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

function invalid(message: string, param?: string): StripeApiError {
  return new StripeApiError(400, { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } });
}
function missing(kind: string, id: string): StripeApiError {
  return new StripeApiError(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param: 'id' } });
}

export async function startStripeSimulator(options: { host?: string; port?: number; webhookUrl?: string; webhookSecret: string }): Promise<StripeSimulator> {
  const signer = new Stripe('sk_test_simulator_signer');
  const customers = new Map<string, Obj>();
  const sessions = new Map<string, Obj>();
  const paymentIntents = new Map<string, Obj>();
  const charges = new Map<string, Obj>();
  /** Each charge's dispute (at most one, as in Stripe), by charge id. */
  const disputes = new Map<string, Obj>();
  const paymentMethods = new Map<string, Obj>();
  const cardOfMethod = new Map<string, string>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const events: Obj[] = [];
  const deliveries: DeliveredEvent[] = [];
  let baseUrl = '';

  const outage = createSandboxOutage();
  const sim: StripeSimulator = { url: '', port: 0, events, deliveries, sessions, paymentIntents, charges, webhookUrl: options.webhookUrl, outage, close: async () => undefined };

  async function deliver(event: Obj): Promise<void> {
    const url = sim.webhookUrl;
    if (url === undefined) return;
    const payload = JSON.stringify(event);
    for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
      let status = 0;
      try {
        const header = signer.webhooks.generateTestHeaderString({ payload, secret: options.webhookSecret });
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body: payload, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
      } catch {
        status = 0;
      }
      deliveries.push({ id: String(event.id), type: String(event.type), status });
      if (status >= 200 && status < 300) return;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }

  /** Records events and delivers them in order. Returned promise: all delivered (or given up). */
  function emit(...list: Array<[type: string, object: Obj]>): Promise<void> {
    const made = list.map(([type, object]) => {
      const e = template('event');
      Object.assign(e, { id: newId('evt'), created: now(), type, api_version: Stripe.API_VERSION, data: { object: structuredClone(object) }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null } });
      events.push(e);
      if (events.length > MAX_EVENTS) events.shift();
      return e;
    });
    return made.reduce<Promise<void>>((p, e) => p.then(() => deliver(e)), Promise.resolve());
  }

  function makePaymentMethod(card: string, customer: string | null): Obj {
    const pm = template('payment_method');
    const id = newId('pm');
    const c = pm.card as Obj;
    Object.assign(c, { brand: 'visa', display_brand: 'visa', last4: card.slice(-4), fingerprint: randomBytes(8).toString('hex') });
    Object.assign(pm, { id, created: now(), customer, livemode: false, metadata: {}, type: 'card' });
    paymentMethods.set(id, pm);
    cardOfMethod.set(id, card);
    return pm;
  }

  function makeCharge(pi: Obj, pm: Obj, paid: boolean, failure?: { code: string; message: string }): Obj {
    const ch = template('charge');
    const id = newId('ch');
    Object.assign(ch, {
      id,
      amount: pi.amount,
      amount_captured: paid ? pi.amount : 0,
      amount_refunded: 0,
      captured: paid,
      created: now(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description ?? null,
      disputed: false,
      failure_code: failure?.code ?? null,
      failure_message: failure?.message ?? null,
      livemode: false,
      metadata: {},
      paid,
      payment_intent: pi.id,
      payment_method: pm.id,
      refunded: false,
      refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
      status: paid ? 'succeeded' : 'failed',
    });
    charges.set(id, ch);
    return ch;
  }

  function makePaymentIntent(input: { amount: number; currency: string; customer: string | null; metadata: Record<string, string>; setupFutureUsage: string | null; description: string | null }): Obj {
    const pi = template('payment_intent');
    const id = newId('pi');
    Object.assign(pi, {
      id,
      amount: input.amount,
      amount_capturable: 0,
      amount_received: 0,
      created: now(),
      currency: input.currency,
      customer: input.customer,
      description: input.description,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: input.metadata,
      next_action: null,
      payment_method: null,
      payment_method_types: ['card'],
      setup_future_usage: input.setupFutureUsage,
      status: 'requires_payment_method',
      client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
    });
    paymentIntents.set(id, pi);
    return pi;
  }

  /** A card attempt on a PaymentIntent: the charge, the PI's new state, and its events. */
  function attempt(pi: Obj, pm: Obj, outcome: 'pays' | 'card_declined' | 'authentication_required'): { events: Array<[string, Obj]>; error?: Obj } {
    pi.payment_method = pm.id;
    if (outcome === 'pays') {
      const ch = makeCharge(pi, pm, true);
      Object.assign(pi, { status: 'succeeded', amount_received: pi.amount, latest_charge: ch.id, last_payment_error: null });
      return { events: [['payment_intent.succeeded', pi], ['charge.succeeded', ch]] };
    }
    const message = outcome === 'card_declined' ? 'Your card was declined.' : 'Your card was declined. This transaction requires authentication.';
    const error = { type: 'card_error', code: outcome === 'card_declined' ? 'card_declined' : 'authentication_required', decline_code: outcome === 'card_declined' ? 'generic_decline' : 'authentication_required', message, payment_method: pm, doc_url: `https://stripe.com/docs/error-codes/${outcome}` };
    const ch = makeCharge(pi, pm, false, { code: String(error.code), message });
    Object.assign(pi, { status: outcome === 'authentication_required' ? 'requires_action' : 'requires_payment_method', latest_charge: ch.id, last_payment_error: error });
    return { events: [['payment_intent.payment_failed', pi], ['charge.failed', ch]], error: { ...error, payment_intent: pi, charge: ch.id } };
  }

  async function paySession(id: string, card: string): Promise<{ paid: boolean; message: string; session: Obj }> {
    const s = sessions.get(id);
    if (!s) throw missing('checkout.session', id);
    if (s.status !== 'open') throw invalid(`This Checkout Session is ${String(s.status)}.`);
    const b = behaviour(card.replace(/\s+/g, ''));
    if (!b) throw invalid('Use a Stripe test card: 4242424242424242 pays, 4000000000000002 is declined.', 'card');
    const pid = (s.payment_intent_data ?? {}) as Obj;
    let pi = typeof s.payment_intent === 'string' ? paymentIntents.get(s.payment_intent) : undefined;
    pi ??= makePaymentIntent({
      amount: Number(s.amount_total),
      currency: String(s.currency),
      customer: (s.customer as string | null) ?? null,
      metadata: metadataOf(pid.metadata),
      setupFutureUsage: str(pid.setup_future_usage) ?? null,
      description: null,
    });
    s.payment_intent = pi.id;
    const saved = pi.setup_future_usage === 'off_session' && s.customer ? String(s.customer) : null;
    const pm = makePaymentMethod(card, saved);
    const r = attempt(pi, pm, b.checkout === 'pays' ? 'pays' : 'card_declined');
    if (r.error) {
      await emit(...r.events);
      return { paid: false, message: String(r.error.message), session: s };
    }
    Object.assign(s, { status: 'complete', payment_status: 'paid' });
    const { payment_intent_data: _hidden, ...publicSession } = s;
    await emit(...r.events, ['checkout.session.completed', publicSession]);
    if (b.dispute) await dispute(String(pi.latest_charge), 'lost', false);
    return { paid: true, message: 'Payment succeeded.', session: s };
  }

  async function refund(chargeId: string, amount: number | undefined): Promise<Obj> {
    const ch = charges.get(chargeId);
    if (!ch || !ch.paid) throw missing('charge', chargeId);
    const left = Number(ch.amount) - Number(ch.amount_refunded);
    const take = amount ?? left;
    if (!Number.isInteger(take) || take < 1 || take > left) throw invalid(`Refund amount must be between 1 and ${left}.`, 'amount');
    const re = template('refund');
    Object.assign(re, { id: newId('re'), amount: take, charge: ch.id, created: now(), currency: ch.currency, payment_intent: ch.payment_intent, payment_method: ch.payment_method, metadata: {}, reason: null, status: 'succeeded' });
    ch.amount_refunded = Number(ch.amount_refunded) + take;
    ch.refunded = ch.amount_refunded === ch.amount;
    (ch.refunds as { data: Obj[] }).data.unshift(re);
    await emit(['charge.refunded', ch], ['refund.created', re]);
    return re;
  }

  /**
   * A charge's dispute: Stripe has at most one per charge. The first call opens it (created, then
   * funds_withdrawn) and, unless `open`, resolves it; a later call on a charge whose dispute is still
   * open resolves that same dispute (funds_reinstated when won, then closed), never a second one; a
   * charge whose dispute is closed cannot be disputed again (400).
   */
  async function dispute(chargeId: string, outcome: 'won' | 'lost' | 'open', close = true): Promise<Obj> {
    const ch = charges.get(chargeId);
    if (!ch || !ch.paid) throw missing('charge', chargeId);
    const existing = disputes.get(chargeId);
    if (existing !== undefined) {
      if (existing.status === 'won' || existing.status === 'lost') {
        throw invalid(`Charge ${chargeId} has already been disputed (${String(existing.id)}, ${String(existing.status)}); a charge has one dispute.`, 'charge');
      }
      if (outcome === 'open') return { ...existing };
      await emit(...resolution(existing, outcome));
      return { ...existing };
    }
    const d = template('dispute');
    Object.assign(d, { id: newId('du'), amount: ch.amount, charge: ch.id, payment_intent: ch.payment_intent, created: now(), currency: ch.currency, livemode: false, metadata: {}, reason: 'fraudulent', status: 'needs_response', balance_transactions: [] });
    disputes.set(chargeId, d);
    ch.disputed = true;
    const list: Array<[string, Obj]> = [['charge.dispute.created', { ...d }]];
    d.status = 'under_review';
    list.push(['charge.dispute.funds_withdrawn', { ...d }]);
    if (close && outcome !== 'open') list.push(...resolution(d, outcome));
    await emit(...list);
    return { ...d };
  }

  /** The events that close an open dispute (its status set to the outcome). */
  function resolution(d: Obj, outcome: 'won' | 'lost'): Array<[string, Obj]> {
    d.status = outcome;
    return outcome === 'won'
      ? [['charge.dispute.funds_reinstated', { ...d }], ['charge.dispute.closed', { ...d }]]
      : [['charge.dispute.closed', { ...d }]];
  }

  const app = express();
  app.disable('x-powered-by');
  // First, before any body is read: during an outage Stripe answers 5xx with an api_error.
  app.use(
    createOutageRoutes(outage, {
      unavailable: (_status, message) => ({ error: { type: 'api_error', message } }),
      invalid: (_status, message) => ({ error: { type: 'invalid_request_error', message } }),
    }),
  );
  app.use(express.urlencoded({ extended: true, limit: BODY_LIMIT }));
  app.use(express.json({ limit: BODY_LIMIT }));

  /** Runs a handler; a POST with an Idempotency-Key answers its first result again (as Stripe). */
  const handle = (run: (req: Request) => Promise<{ status?: number; body: unknown }> | { status?: number; body: unknown }) => async (req: Request, res: Response) => {
    const key = req.method === 'POST' ? req.get('idempotency-key') : undefined;
    const slot = key === undefined ? undefined : `${req.path} ${key}`;
    const prior = slot === undefined ? undefined : idempotent.get(slot);
    if (prior) {
      res.status(prior.status).set('idempotent-replayed', 'true').json(prior.body);
      return;
    }
    let out: { status: number; body: unknown };
    try {
      const r = await run(req);
      out = { status: r.status ?? 200, body: r.body };
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      out = { status: err.status, body: err.body };
    }
    if (slot !== undefined) idempotent.set(slot, out);
    res.status(out.status).set('request-id', newId('req')).json(out.body);
  };
  const body = (req: Request): Obj => (req.body && typeof req.body === 'object' ? (req.body as Obj) : {});
  const lookup = (map: Map<string, Obj>, kind: string) => (req: Request) => {
    const o = map.get(String(req.params.id));
    if (!o) throw missing(kind, String(req.params.id));
    return { body: o };
  };

  app.post('/v1/customers', handle((req) => {
    const b = body(req);
    const c = template('customer');
    Object.assign(c, { id: newId('cus'), created: now(), email: str(b.email) ?? null, name: str(b.name) ?? null, metadata: metadataOf(b.metadata), livemode: false, balance: 0, currency: null, default_source: null, delinquent: false, description: null, discount: null, invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null } });
    customers.set(String(c.id), c);
    return { body: c };
  }));
  app.get('/v1/customers/:id', handle(lookup(customers, 'customer')));

  app.post('/v1/checkout/sessions', handle((req) => {
    const b = body(req);
    if (b.mode !== 'payment') throw invalid('Only mode=payment is simulated.', 'mode');
    const items = Array.isArray(b.line_items) ? (b.line_items as Obj[]) : [];
    const item = items[0];
    const pd = (item?.price_data ?? {}) as Obj;
    const amount = intOf(pd.unit_amount);
    const quantity = intOf(item?.quantity) ?? 1;
    const currency = str(pd.currency);
    if (amount === undefined || amount < 1 || currency === undefined || !/^[a-z]{3}$/.test(currency)) throw invalid('line_items[0][price_data] needs unit_amount and currency.', 'line_items');
    const customer = str(b.customer) ?? null;
    if (customer !== null && !customers.has(customer)) throw missing('customer', customer);
    const s = template('checkout.session');
    const id = newId('cs_test');
    Object.assign(s, {
      id,
      amount_subtotal: amount * quantity,
      amount_total: amount * quantity,
      cancel_url: str(b.cancel_url) ?? null,
      client_reference_id: str(b.client_reference_id) ?? null,
      client_secret: null,
      created: now(),
      currency,
      customer,
      customer_email: null,
      expires_at: now() + SESSION_LIFETIME_SECONDS,
      livemode: false,
      metadata: metadataOf(b.metadata),
      mode: 'payment',
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      success_url: str(b.success_url) ?? null,
      ui_mode: 'hosted',
      url: `${baseUrl}/checkout/${id}`,
    });
    sessions.set(id, s);
    // Kept for the PaymentIntent made at payment; not part of Stripe's session object.
    const stored = { ...s, payment_intent_data: (b.payment_intent_data ?? {}) as Obj };
    sessions.set(id, stored);
    return { body: s };
  }));
  const publicSession = (s: Obj) => {
    const { payment_intent_data: _hidden, ...rest } = s;
    return rest;
  };
  app.get('/v1/checkout/sessions/:id', handle((req) => {
    const s = sessions.get(String(req.params.id));
    if (!s) throw missing('checkout.session', String(req.params.id));
    return { body: publicSession(s) };
  }));
  const expire = async (id: string) => {
    const s = sessions.get(id);
    if (!s) throw missing('checkout.session', id);
    if (s.status !== 'open') throw invalid(`Only open sessions can be expired; this one is ${String(s.status)}.`);
    s.status = 'expired';
    await emit(['checkout.session.expired', publicSession(s)]);
    return publicSession(s);
  };
  app.post('/v1/checkout/sessions/:id/expire', handle(async (req) => ({ body: await expire(String(req.params.id)) })));

  app.post('/v1/payment_intents', handle((req) => {
    const b = body(req);
    const amount = intOf(b.amount);
    const currency = str(b.currency);
    if (amount === undefined || amount < 1 || currency === undefined) throw invalid('amount and currency are required.', 'amount');
    const customer = str(b.customer) ?? null;
    const pmId = str(b.payment_method);
    const pi = makePaymentIntent({ amount, currency, customer, metadata: metadataOf(b.metadata), setupFutureUsage: null, description: str(b.description) ?? null });
    if (b.confirm !== 'true' && b.confirm !== true) return { body: pi };
    const pm = pmId === undefined ? undefined : paymentMethods.get(pmId);
    if (!pm || (customer !== null && pm.customer !== customer)) {
      throw invalid(`The payment method ${pmId ?? '(none)'} is not attached to customer ${customer ?? '(none)'}.`, 'payment_method');
    }
    const b2 = behaviour(cardOfMethod.get(String(pm.id)) ?? '');
    const offSession = b.off_session === 'true' || b.off_session === true;
    const r = attempt(pi, pm, b2 === undefined ? 'card_declined' : offSession ? b2.offSession : b2.checkout === 'pays' ? 'pays' : 'card_declined');
    // As Stripe: the answer first, the events shortly after it.
    setImmediate(() => void emit(...r.events));
    if (r.error) throw new StripeApiError(402, { error: r.error });
    return { body: pi };
  }));
  app.get('/v1/payment_intents/:id', handle((req) => {
    const pi = paymentIntents.get(String(req.params.id));
    if (!pi) throw missing('payment_intent', String(req.params.id));
    // The SDK sends expand[0]=payment_method; express's simple query parser keeps the key as is.
    const expand = Object.entries(req.query).filter(([k]) => k === 'expand' || k.startsWith('expand[')).flatMap(([, v]) => ([] as unknown[]).concat(v));
    if (expand.includes('payment_method') && typeof pi.payment_method === 'string') return { body: { ...pi, payment_method: paymentMethods.get(pi.payment_method) ?? pi.payment_method } };
    return { body: pi };
  }));
  app.get('/v1/payment_methods/:id', handle(lookup(paymentMethods, 'payment_method')));
  app.get('/v1/charges/:id', handle(lookup(charges, 'charge')));
  app.post('/v1/refunds', handle(async (req) => {
    const b = body(req);
    let chargeId = str(b.charge);
    const piId = str(b.payment_intent);
    if (chargeId === undefined && piId !== undefined) chargeId = str(paymentIntents.get(piId)?.latest_charge);
    if (chargeId === undefined) throw invalid('charge or payment_intent is required.', 'charge');
    return { body: await refund(chargeId, intOf(b.amount)) };
  }));
  // Stripe's list: newest first; limit (1..100, default 10), starting_after (an event id: the page
  // after it), created[gt|gte|lt|lte] (unix seconds), type or types[] (exact names).
  app.get('/v1/events', handle((req) => {
    const q = req.query as Record<string, unknown>;
    const param = (name: string) => (typeof q[name] === 'string' ? (q[name] as string) : undefined);
    const limit = param('limit') === undefined ? 10 : Number(param('limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('This value must be between 1 and 100.', 'limit');
    const bound = (op: string) => (param(`created[${op}]`) === undefined ? undefined : Number(param(`created[${op}]`)));
    const [gt, gte, lt, lte] = ['gt', 'gte', 'lt', 'lte'].map(bound);
    const types = Object.keys(q).filter((k) => /^types\[\d*\]$/.test(k)).map((k) => String(q[k]));
    const type = param('type');
    const matches = (e: Obj) => {
      const c = Number(e.created);
      if ((gt !== undefined && !(c > gt)) || (gte !== undefined && !(c >= gte)) || (lt !== undefined && !(c < lt)) || (lte !== undefined && !(c <= lte))) return false;
      if (type !== undefined && e.type !== type) return false;
      return types.length === 0 || types.includes(String(e.type));
    };
    let newestFirst = [...events].reverse().filter(matches);
    const after = param('starting_after');
    if (after !== undefined) {
      const at = newestFirst.findIndex((e) => e.id === after);
      if (at < 0) throw missing('event', after);
      newestFirst = newestFirst.slice(at + 1);
    }
    return { body: { object: 'list', data: newestFirst.slice(0, limit), has_more: newestFirst.length > limit, url: '/v1/events' } };
  }));
  app.get('/v1/events/:id', handle((req) => {
    const e = events.find((x) => x.id === req.params.id);
    if (!e) throw missing('event', String(req.params.id));
    return { body: e };
  }));

  // The hosted checkout page: a plain form where a test card is typed.
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const page = (s: Obj, note = '') => `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sandbox Checkout</title></head>
<body><main><h1>Sandbox Checkout</h1><p>Pay <strong>${esc(String(s.amount_total))}</strong> (${esc(String(s.currency)).toUpperCase()} minor units). No real money moves.</p>
${note ? `<p role="alert" id="message">${esc(note)}</p>` : ''}
${s.status === 'open' ? `<form method="post" action="/checkout/${esc(String(s.id))}"><label for="card">Card number</label> <input id="card" name="card" inputmode="numeric" autocomplete="cc-number" required value=""> <button type="submit">Pay</button></form>
<p>Test cards: 4242424242424242 pays; 4000000000000002 is declined; 4000000000000259 pays and is disputed; 4000002760003184 needs authentication off-session.</p>` : `<p id="status">This session is ${esc(String(s.status))}.</p>`}
${s.cancel_url && s.status === 'open' ? `<p><a href="${esc(String(s.cancel_url))}">Cancel</a></p>` : ''}</main></body></html>`;
  app.get('/checkout/:id', (req, res) => {
    const s = sessions.get(String(req.params.id));
    if (!s) return void res.status(404).type('html').send('<!doctype html><title>Not found</title><p>No such checkout session.</p>');
    res.type('html').send(page(s));
  });
  app.post('/checkout/:id', async (req, res) => {
    const id = String(req.params.id);
    try {
      const r = await paySession(id, String(body(req).card ?? ''));
      if (r.paid && typeof r.session.success_url === 'string') return void res.redirect(303, r.session.success_url);
      res.status(r.paid ? 200 : 402).type('html').send(page(r.session, r.message));
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      const s = sessions.get(id);
      const message = String(((err.body.error ?? {}) as Obj).message ?? 'Payment failed.');
      res.status(err.status).type('html').send(s ? page(s, message) : `<!doctype html><p>${esc(message)}</p>`);
    }
  });

  // Test endpoints.
  app.post('/sandbox/checkout/sessions/:id/pay', handle(async (req) => {
    const r = await paySession(String(req.params.id), String(body(req).card ?? ''));
    return { status: r.paid ? 200 : 402, body: { paid: r.paid, message: r.message, session: publicSession(r.session) } };
  }));
  app.post('/sandbox/checkout/sessions/:id/expire', handle(async (req) => ({ body: await expire(String(req.params.id)) })));
  app.post('/sandbox/charges/:id/refund', handle(async (req) => ({ body: await refund(String(req.params.id), intOf(body(req).amount)) })));
  app.post('/sandbox/charges/:id/dispute', handle(async (req) => {
    const outcome = body(req).outcome;
    if (outcome !== 'won' && outcome !== 'lost' && outcome !== 'open') throw invalid('outcome must be "won", "lost" or "open".', 'outcome');
    return { body: await dispute(String(req.params.id), outcome) };
  }));
  app.post('/sandbox/payment_methods/:id/card', handle((req) => {
    const id = String(req.params.id);
    const card = String(body(req).card ?? '');
    if (!paymentMethods.has(id)) throw missing('payment_method', id);
    if (!behaviour(card)) throw invalid('Not a simulated test card.', 'card');
    cardOfMethod.set(id, card);
    return { body: paymentMethods.get(id) };
  }));

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { type: 'invalid_request_error', message: 'Unrecognized request URL.' } });
  });

  const listening = await listenLocal(app, options.port ?? 0, options.host ?? '127.0.0.1');
  baseUrl = listening.url;
  sim.url = listening.url;
  sim.port = listening.port;
  sim.close = listening.close;
  return sim;
}
