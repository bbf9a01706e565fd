// Proves the Stripe simulator keeps Stripe's one dispute per charge (issue 22 item 9): the first
// POST /sandbox/charges/:id/dispute opens a dispute (card 4000000000000259 opens one when it
// pays), a second call on a charge whose dispute is still open resolves that same dispute with the
// outcome asked for (no second dispute id), and a charge whose dispute is closed cannot be
// disputed again. Each dispute event is signed and listed by GET /v1/events like any other.
import Stripe from 'stripe';
import { startStripeSimulator, TEST_CARDS, type StripeSimulator } from '../../sandbox/stripe-simulator';

let sim: StripeSimulator;
let stripe: Stripe;
beforeAll(async () => {
  sim = await startStripeSimulator({ webhookSecret: 'whsec_dispute_test_000' });
  const u = new URL(sim.url);
  stripe = new Stripe('sk_test_dispute_000', { host: u.hostname, port: Number(u.port), protocol: 'http' });
});
afterAll(async () => sim.close());

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function paidCharge(card: string, amount: number): Promise<string> {
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ quantity: 1, price_data: { currency: 'gbp', unit_amount: amount, product_data: { name: 'Top-up' } } }],
    success_url: 'https://example.com/ok',
  });
  expect((await post(`/sandbox/checkout/sessions/${session.id}/pay`, { card })).status).toBe(200);
  const pi = await stripe.paymentIntents.retrieve(String((await stripe.checkout.sessions.retrieve(session.id)).payment_intent));
  return String(pi.latest_charge);
}

const disputeEventsOf = (chargeId: string) =>
  sim.events
    .filter((e) => String(e.type).startsWith('charge.dispute.') && (e.data as { object: { charge: string } }).object.charge === chargeId)
    .map((e) => ({ type: e.type, id: (e.data as { object: { id: string } }).object.id, status: (e.data as { object: { status: string } }).object.status }));

it('resolves the open dispute of a charge (card …0259) when disputed again, with no second dispute id', async () => {
  const chargeId = await paidCharge(TEST_CARDS.disputed, 3000);
  const opened = disputeEventsOf(chargeId);
  expect(opened.map((e) => e.type)).toEqual(['charge.dispute.created', 'charge.dispute.funds_withdrawn']);
  const disputeId = opened[0]!.id;

  const won = await post(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'won' });
  expect(won.status).toBe(200);
  expect(won.body).toMatchObject({ id: disputeId, charge: chargeId, amount: 3000, status: 'won' });
  expect(disputeEventsOf(chargeId)).toEqual([
    { type: 'charge.dispute.created', id: disputeId, status: 'needs_response' },
    { type: 'charge.dispute.funds_withdrawn', id: disputeId, status: 'under_review' },
    { type: 'charge.dispute.funds_reinstated', id: disputeId, status: 'won' },
    { type: 'charge.dispute.closed', id: disputeId, status: 'won' },
  ]);

  // Closed: a charge has one dispute, so another is refused and nothing is sent.
  const again = await post(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'lost' });
  expect(again.status).toBe(400);
  expect(JSON.stringify(again.body)).toContain(disputeId);
  expect(disputeEventsOf(chargeId)).toHaveLength(4);
});

it('opens one dispute that stays open, then loses that same dispute', async () => {
  const chargeId = await paidCharge(TEST_CARDS.pays, 1000);
  const open = await post(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'open' });
  expect(open.status).toBe(200);
  // Asking for an open dispute again changes nothing.
  expect((await post(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'open' })).body.id).toBe(open.body.id);
  const lost = await post(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'lost' });
  expect(lost.body).toMatchObject({ id: open.body.id, status: 'lost' });
  expect(disputeEventsOf(chargeId).map((e) => [e.type, e.id])).toEqual([
    ['charge.dispute.created', open.body.id],
    ['charge.dispute.funds_withdrawn', open.body.id],
    ['charge.dispute.closed', open.body.id],
  ]);
});
