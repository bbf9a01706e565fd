// The money-in endpoints answer what api/openapi.ts documents: happy, error and security outcomes
// of top-ups, auto-recharge, alerts, events and the Stripe webhook, checked against the schema.
import Stripe from 'stripe';
import request from 'supertest';
import { expectConforms } from '../support/openapi';
import { createStripeWorld, TEST_STRIPE_WEBHOOK_SECRET, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
beforeAll(async () => {
  w = await createStripeWorld();
});
afterAll(async () => w.close());

it('documents every answer of the money-in endpoints', async () => {
  const { orgId, token } = await w.org();
  const auth = { authorization: `Bearer ${token}` };
  const app = () => request(w.ctx.app());
  const created = expectConforms('post', '/api/wallet/top-ups', await w.topUp(token, 2000));
  expectConforms('post', '/api/wallet/top-ups', await w.topUp(token, 1));
  expectConforms('post', '/api/wallet/top-ups', await app().post('/api/wallet/top-ups').set('idempotency-key', 'x').send({ amount: 2000 }));
  await w.pay(created.body.checkoutSessionId, '4242424242424242');
  expectConforms('get', '/api/wallet/top-ups/{topUpId}', await app().get(`/api/wallet/top-ups/${created.body.topUpId}`).set(auth));
  expectConforms('get', '/api/wallet/top-ups/{topUpId}', await app().get('/api/wallet/top-ups/nope').set(auth));
  const receipt = expectConforms('get', '/api/wallet/top-ups/{topUpId}/receipt', await app().get(`/api/wallet/top-ups/${created.body.topUpId}/receipt`).set(auth));
  expect(receipt.status).toBe(200);
  const listed = expectConforms('get', '/api/wallet/top-ups', await app().get('/api/wallet/top-ups?limit=1').set(auth));
  expect(listed.body.items[0].receiptNumber).toBe(receipt.body.receiptNumber);
  expectConforms('get', '/api/wallet/top-ups', await app().get('/api/wallet/top-ups?limit=x').set(auth));
  expectConforms('get', '/api/wallet', await app().get('/api/wallet').set(auth));
  expectConforms('get', '/api/wallet/transactions', await app().get('/api/wallet/transactions').set(auth));
  expectConforms('get', '/api/wallet/auto-recharge', await app().get('/api/wallet/auto-recharge').set(auth));
  expectConforms('put', '/api/wallet/auto-recharge', await app().put('/api/wallet/auto-recharge').set(auth).send({ enabled: true, threshold: 500, amount: 2000 }));
  expectConforms('put', '/api/wallet/auto-recharge', await app().put('/api/wallet/auto-recharge').set(auth).send({ enabled: 'yes' }));
  expectConforms('put', '/api/wallet/alerts', await app().put('/api/wallet/alerts').set(auth).send({ thresholds: [1000, 100], webhookUrl: 'https://example.com/hook' }));
  expectConforms('put', '/api/wallet/alerts', await app().put('/api/wallet/alerts').set(auth).send({ thresholds: 'x' }));
  await w.ctx.services.store.chargeCall({ orgId, callId: `c-${orgId}`, amount: 1950, reference: 'x' });
  expectConforms('get', '/api/wallet/events', await app().get('/api/wallet/events').set(auth));
  expectConforms('get', '/api/wallet/events', await app().get('/api/wallet/events?limit=0').set(auth));
  // Paged one at a time: nextCursor is the documented string, and it leads to the next event.
  const first = expectConforms('get', '/api/wallet/events', await app().get('/api/wallet/events?limit=1').set(auth));
  expect(first.body.nextCursor).toEqual(expect.any(String));
  const second = expectConforms('get', '/api/wallet/events', await app().get(`/api/wallet/events?limit=1&cursor=${first.body.nextCursor}`).set(auth));
  expect(Number(second.body.items[0].id)).toBeLessThan(Number(first.body.items[0].id));
  expectConforms('get', '/api/wallet/events', await app().get('/api/wallet/events?cursor=not!a!cursor').set(auth));
  const payload = JSON.stringify(w.sim.events[0]);
  const header = new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload, secret: TEST_STRIPE_WEBHOOK_SECRET });
  expectConforms('post', '/api/stripe/webhook', await app().post('/api/stripe/webhook').set('content-type', 'application/json').set('stripe-signature', header).send(payload));
  expectConforms('post', '/api/stripe/webhook', await app().post('/api/stripe/webhook').set('content-type', 'application/json').set('stripe-signature', 't=1,v1=00').send(payload));
});
