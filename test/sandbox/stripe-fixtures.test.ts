// Proves the Stripe simulator answers with Stripe's real shapes, as the Twilio simulator is
// checked against Twilio's OpenAPI spec: every object the service reads (through the real
// `stripe` SDK) or receives in an event has every field of the matching example object in
// stripe/openapi's fixtures3.json (test/fixtures/stripe-openapi, MIT licence).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { startStripeSimulator, type StripeSimulator } from '../../sandbox/stripe-simulator';

const fixtures = JSON.parse(readFileSync(join(__dirname, '../fixtures/stripe-openapi/fixtures3.json'), 'utf8')).resources as Record<string, Record<string, unknown>>;
const missingFields = (kind: string, obj: unknown) => Object.keys(fixtures[kind] ?? { missing_fixture: 1 }).filter((k) => !(k in (obj as object)));

let sim: StripeSimulator;
let stripe: Stripe;
beforeAll(async () => {
  sim = await startStripeSimulator({ webhookSecret: 'whsec_fixture_test_000' });
  const u = new URL(sim.url);
  stripe = new Stripe('sk_test_fixture_000', { host: u.hostname, port: Number(u.port), protocol: 'http' });
});
afterAll(async () => sim.close());

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

it('answers customers, checkout sessions, payment intents, payment methods, charges, refunds, disputes and events with every field Stripe has', async () => {
  const customer = await stripe.customers.create({ metadata: { orgId: 'o' } });
  expect(missingFields('customer', customer)).toEqual([]);
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    customer: customer.id,
    line_items: [{ quantity: 1, price_data: { currency: 'gbp', unit_amount: 2000, product_data: { name: 'Top-up' } } }],
    payment_intent_data: { setup_future_usage: 'off_session', metadata: { kind: 'checkout' } },
    metadata: { orgId: 'o', topUpId: 't' },
    success_url: 'https://example.com/ok',
    cancel_url: 'https://example.com/cancel',
  });
  expect(missingFields('checkout.session', session)).toEqual([]);
  expect(session.url).toContain('/checkout/');
  expect(missingFields('checkout.session', await stripe.checkout.sessions.retrieve(session.id))).toEqual([]);
  await post(`/sandbox/checkout/sessions/${session.id}/pay`, { card: '4242424242424242' });
  const paid = await stripe.checkout.sessions.retrieve(session.id);
  expect(paid.payment_status).toBe('paid');
  const pi = await stripe.paymentIntents.retrieve(String(paid.payment_intent), { expand: ['payment_method'] });
  expect(missingFields('payment_intent', pi)).toEqual([]);
  expect(missingFields('payment_method', pi.payment_method)).toEqual([]);
  const pmId = (pi.payment_method as Stripe.PaymentMethod).id;
  const charge = await stripe.charges.retrieve(String(pi.latest_charge));
  expect(missingFields('charge', charge)).toEqual([]);
  const refund = await stripe.refunds.create({ charge: charge.id, amount: 500 });
  expect(missingFields('refund', refund)).toEqual([]);
  await post(`/sandbox/charges/${charge.id}/dispute`, { outcome: 'won' });
  const offSession = await stripe.paymentIntents.create({ amount: 700, currency: 'gbp', customer: customer.id, payment_method: pmId, off_session: true, confirm: true }, { idempotencyKey: 'k1' });
  expect(offSession.status).toBe('succeeded');
  const replay = await stripe.paymentIntents.create({ amount: 700, currency: 'gbp', customer: customer.id, payment_method: pmId, off_session: true, confirm: true }, { idempotencyKey: 'k1' });
  expect(replay.id).toBe(offSession.id);

  const events = await stripe.events.list();
  const types = new Set(events.data.map((e) => e.type));
  for (const t of ['checkout.session.completed', 'payment_intent.succeeded', 'charge.refunded', 'charge.dispute.created', 'charge.dispute.funds_withdrawn', 'charge.dispute.funds_reinstated', 'charge.dispute.closed']) expect(types).toContain(t);
  for (const e of events.data) {
    expect(missingFields('event', e)).toEqual([]);
    const kind = e.type.startsWith('checkout.session') ? 'checkout.session' : e.type.startsWith('charge.dispute') ? 'dispute' : e.type.startsWith('payment_intent') ? 'payment_intent' : e.type.startsWith('refund') ? 'refund' : 'charge';
    expect(missingFields(kind, e.data.object)).toEqual([]);
  }
  expect(missingFields('event', await stripe.events.retrieve(events.data[0]!.id))).toEqual([]);
});

it('declines the declining test cards as Stripe does: the session stays open; off-session authentication is required', async () => {
  const customer = await stripe.customers.create({});
  const mk = () =>
    stripe.checkout.sessions.create({
      mode: 'payment',
      customer: customer.id,
      line_items: [{ quantity: 1, price_data: { currency: 'gbp', unit_amount: 1000, product_data: { name: 'x' } } }],
      payment_intent_data: { setup_future_usage: 'off_session' },
      success_url: 'https://example.com/ok',
    });
  const s1 = await mk();
  const declined = await post(`/sandbox/checkout/sessions/${s1.id}/pay`, { card: '4000000000000002' });
  expect(declined.paid).toBe(false);
  expect((await stripe.checkout.sessions.retrieve(s1.id)).status).toBe('open');
  const s2 = await mk();
  await post(`/sandbox/checkout/sessions/${s2.id}/pay`, { card: '4000002760003184' });
  const pi = await stripe.paymentIntents.retrieve(String((await stripe.checkout.sessions.retrieve(s2.id)).payment_intent));
  await expect(stripe.paymentIntents.create({ amount: 500, currency: 'gbp', customer: customer.id, payment_method: String(pi.payment_method), off_session: true, confirm: true })).rejects.toMatchObject({ type: 'StripeCardError', code: 'authentication_required' });
});
