// A recharge whose Stripe call failed with an outage (not a card failure) is retried by its job
// under the same Stripe idempotency key: the retry must be allowed to send it again ('resume'),
// not told another recharge is in flight — or the wallet keeps a never-sent recharge in flight
// and is never recharged again (failure mode 33, the silent side). No workers here: the test
// plays the job's steps against the SQL functions on real Postgres.
import request from 'supertest';
import { createStripeWorld, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
beforeAll(async () => {
  w = await createStripeWorld({ workers: false });
});
afterAll(async () => w.close());

it('lets the retried job send again a recharge that never reached Stripe, and only that one', async () => {
  const { orgId, token } = await w.org();
  const paid = await w.topUp(token, 5000);
  expect((await w.pay(paid.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  const put = await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 6000, amount: 5000 });
  expect(put.status).toBe(200);

  const first = await w.ctx.services.moneyIn.claimRecharge(orgId, 60);
  expect(first.outcome).toBe('claimed');
  // The Stripe call failed with an outage: the job is retried and claims again.
  const retried = await w.ctx.services.moneyIn.claimRecharge(orgId, 60);
  expect(retried.outcome).toBe('resume');
  if (first.outcome !== 'claimed' || retried.outcome !== 'resume') throw new Error('unreachable');
  expect(retried.top_up.topUpId).toBe(first.top_up.topUpId); // the same recharge, the same Stripe key

  // Once Stripe has the PaymentIntent, another claim finds it in flight and sends nothing.
  await w.ctx.services.moneyIn.rechargeSubmitted(first.top_up.topUpId, 'pi_resume_test');
  expect((await w.ctx.services.moneyIn.claimRecharge(orgId, 60)).outcome).toBe('in_flight');
});
