// Top-ups end to end: a Checkout Session made through the real `stripe` SDK against the Stripe
// simulator (a real HTTP server), paid with test cards, credited only from Stripe's signed events
// (verified by stripe.webhooks.constructEvent), once per payment however many events describe it;
// the topup entry's reference is the PaymentIntent id itself (CONTRACT §7).
import Stripe from 'stripe';
import request from 'supertest';
import { expectLedgerConsistent } from '../support/invariants';
import { createStripeWorld, TEST_STRIPE_WEBHOOK_SECRET, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
const signer = new Stripe('sk_test_signer_only');

beforeAll(async () => {
  w = await createStripeWorld();
});
afterAll(async () => {
  await w.close();
});

function signed(event: unknown, secret = TEST_STRIPE_WEBHOOK_SECRET, timestamp?: number) {
  const payload = JSON.stringify(event);
  return { payload, header: signer.webhooks.generateTestHeaderString({ payload, secret, timestamp }) };
}
const post = (payload: string, header: string | undefined) => {
  const r = request(w.ctx.app()).post('/api/stripe/webhook').set('content-type', 'application/json');
  if (header !== undefined) r.set('stripe-signature', header);
  return r.send(payload);
};
const eventsOf = (type: string) => w.sim.events.filter((e) => e.type === type);

async function paidTopUp(amount: number, card = '4242424242424242') {
  const { orgId, token } = await w.org();
  const res = await w.topUp(token, amount);
  expect(res.status).toBe(201);
  const paid = await w.pay(res.body.checkoutSessionId, card);
  return { orgId, token, topUp: res.body as { topUpId: string; checkoutSessionId: string; checkoutUrl: string }, paid };
}

describe('happy path', () => {
  it('creates a Checkout Session for a top-up and credits 2000 once when it is paid', async () => {
    const { orgId, token } = await w.org();
    const res = await w.topUp(token, 2000, 'first-top-up');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending', amount: 2000, currency: 'gbp' });
    expect(res.body.checkoutUrl).toContain(`${w.sim.url}/checkout/`);
    // The success page returning before the webhook changes nothing: nothing credited yet.
    expect(await w.balance(orgId)).toBe(0);
    const replay = await w.topUp(token, 2000, 'first-top-up');
    expect(replay.status).toBe(201);
    expect(replay.body.checkoutSessionId).toBe(res.body.checkoutSessionId);
    expect((await w.topUp(token, 3000, 'first-top-up')).status).toBe(409);

    const page = await fetch(res.body.checkoutUrl);
    expect(await page.text()).toContain('<form');
    const paid = await w.pay(res.body.checkoutSessionId, '4242424242424242');
    expect(paid.status).toBe(200);
    expect(await w.balance(orgId)).toBe(2000);
    const status = await request(w.ctx.app()).get(`/api/wallet/top-ups/${res.body.topUpId}`).set('authorization', `Bearer ${token}`);
    expect(status.body).toMatchObject({ topUpId: res.body.topUpId, status: 'paid', amount: 2000, credited: 2000, refunded: 0, currency: 'gbp' });
  });

  it('credits a payment once when its event arrives ten times concurrently and payment_intent.succeeded describes it too', async () => {
    const { orgId, topUp } = await paidTopUp(2000);
    const completed = eventsOf('checkout.session.completed').find((e) => (e.data as { object: { id: string } }).object.id === topUp.checkoutSessionId);
    const session = (completed?.data as { object: { payment_intent: string } }).object;
    const succeeded = eventsOf('payment_intent.succeeded').find((e) => (e.data as { object: { id: string } }).object.id === session.payment_intent);
    const copies = Array.from({ length: 10 }, () => signed(completed)).concat([signed(succeeded)]);
    const answers = await Promise.all(copies.map((c) => post(c.payload, c.header)));
    for (const a of answers) expect(a.status).toBe(200);
    // Also a second payment_intent.succeeded with a new event id (Stripe may describe one payment twice).
    const again = signed({ ...succeeded, id: 'evt_other_copy_of_the_same_payment' });
    expect((await post(again.payload, again.header)).status).toBe(200);
    expect(await w.balance(orgId)).toBe(2000);
    const entries = await w.ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'topup'", [orgId]);
    expect(entries.rows[0].n).toBe(1);
    await expectLedgerConsistent(w.ctx.pool);
  });
});

describe('the topup ledger entry', () => {
  it('carries the PaymentIntent id itself as its reference (CONTRACT §7), whichever event credits it', async () => {
    const { orgId, token, topUp } = await paidTopUp(2500);
    const pi = String((w.sim.sessions.get(topUp.checkoutSessionId) as { payment_intent: string }).payment_intent);
    expect(pi).toMatch(/^pi_/);
    const rows = await w.ctx.pool.query("select reference from ledger_entries where org_id = $1 and kind = 'topup'", [orgId]);
    expect(rows.rows).toEqual([{ reference: pi }]);
    // As programs read it: GET /api/wallet/transactions.
    const t = await request(w.ctx.app()).get('/api/wallet/transactions').set('authorization', `Bearer ${token}`);
    expect(t.body.items).toEqual([expect.objectContaining({ kind: 'topup', amount: 2500, reference: pi })]);

    // Credited by payment_intent.succeeded alone (the event auto-recharge payments are credited by): the same.
    const other = await w.org();
    const created = await w.topUp(other.token, 1500);
    const url = w.sim.webhookUrl;
    w.sim.webhookUrl = undefined; // only the payment_intent.succeeded event is delivered below
    const before = w.sim.events.length;
    await w.pay(created.body.checkoutSessionId, '4242424242424242');
    w.sim.webhookUrl = url;
    const succeeded = w.sim.events.slice(before).find((e) => e.type === 'payment_intent.succeeded') as { data: { object: { id: string } } };
    const { payload, header } = signed(succeeded);
    expect((await post(payload, header)).status).toBe(200);
    const second = await w.ctx.pool.query("select reference from ledger_entries where org_id = $1 and kind = 'topup'", [other.orgId]);
    expect(second.rows).toEqual([{ reference: succeeded.data.object.id }]);
    await expectLedgerConsistent(w.ctx.pool);
  });
});

describe('payments that do not happen', () => {
  it('marks a declined card failed and credits nothing; the session stays open', async () => {
    const { orgId, token, topUp, paid } = await paidTopUp(1500, '4000000000000002');
    expect(paid.status).toBe(402);
    expect(await w.balance(orgId)).toBe(0);
    const s = await request(w.ctx.app()).get(`/api/wallet/top-ups/${topUp.topUpId}`).set('authorization', `Bearer ${token}`);
    expect(s.body).toMatchObject({ status: 'failed', credited: 0 });
    const page = await (await fetch(topUp.checkoutUrl)).text();
    expect(page).toContain('<form');
  });

  it('marks an expired session expired and credits nothing', async () => {
    const { orgId, token } = await w.org();
    const res = await w.topUp(token, 900);
    const r = await w.simPost(`/sandbox/checkout/sessions/${res.body.checkoutSessionId}/expire`, {});
    expect(r.status).toBe(200);
    const s = await request(w.ctx.app()).get(`/api/wallet/top-ups/${res.body.topUpId}`).set('authorization', `Bearer ${token}`);
    expect(s.body).toMatchObject({ status: 'expired', credited: 0 });
    expect(await w.balance(orgId)).toBe(0);
  });
});

describe('bad input', () => {
  it('refuses amounts out of bounds, fractions and unknown fields with 400', async () => {
    const { token } = await w.org();
    for (const amount of [499, 100001, 10.5, -1, '1000']) expect((await w.topUp(token, amount as number)).status).toBe(400);
    const noKey = await request(w.ctx.app()).post('/api/wallet/top-ups').set('authorization', `Bearer ${token}`).send({ amount: 1000 });
    expect(noKey.status).toBe(400);
  });

  it('answers 400 invalid_signature to a bad signature, a stale timestamp or no signature, and changes nothing', async () => {
    const { orgId, topUp } = await paidTopUp(700);
    const completed = eventsOf('checkout.session.completed').find((e) => (e.data as { object: { id: string } }).object.id === topUp.checkoutSessionId);
    const forged = { ...completed, id: 'evt_forged' };
    const wrong = signed(forged, 'whsec_not_the_secret_0000');
    const stale = signed(forged, TEST_STRIPE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301);
    for (const [payload, header] of [[wrong.payload, wrong.header], [stale.payload, stale.header], [wrong.payload, undefined]] as const) {
      const r = await post(payload, header);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_signature');
    }
    expect(await w.balance(orgId)).toBe(700);
  });

  it('answers 400 to a signed body that is not an event', async () => {
    const s = signed({ hello: 'world' });
    const r = await post(s.payload, s.header);
    expect(r.status).toBe(400);
  });

  it('answers 200 and credits nothing for an unknown organisation, a wrong currency, or an unhandled type', async () => {
    const { orgId, topUp } = await paidTopUp(1000);
    const completed = eventsOf('checkout.session.completed').find((e) => (e.data as { object: { id: string } }).object.id === topUp.checkoutSessionId) as { data: { object: Record<string, unknown> } };
    const obj = completed.data.object;
    const unknownOrg = { ...completed, id: 'evt_unknown_org', data: { object: { ...obj, payment_intent: 'pi_elsewhere', metadata: { orgId: '00000000-0000-4000-8000-000000000000', topUpId: '00000000-0000-4000-8000-000000000001' } } } };
    const wrongCurrency = { ...completed, id: 'evt_wrong_currency', data: { object: { ...obj, payment_intent: 'pi_in_usd', currency: 'usd' } } };
    const other = { ...completed, id: 'evt_other_type', type: 'customer.created' };
    for (const e of [unknownOrg, wrongCurrency, other]) {
      const s = signed(e);
      const r = await post(s.payload, s.header);
      expect(r.status).toBe(200);
    }
    expect(await w.balance(orgId)).toBe(1000);
    const metrics = await w.ctx.services.metrics.registry.metrics();
    expect(metrics).toMatch(/outcome="unknown_organisation"/);
    expect(metrics).toMatch(/outcome="mismatch"/);
  });

  it('does not let another organisation read a top-up', async () => {
    const { topUp } = await paidTopUp(600);
    const other = await w.org();
    const r = await request(w.ctx.app()).get(`/api/wallet/top-ups/${topUp.topUpId}`).set('authorization', `Bearer ${other.token}`);
    expect(r.status).toBe(404);
  });
});
