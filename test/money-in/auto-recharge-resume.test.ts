// The "recharge wanted" outbox row is the only schedule of a recharge (issue 22): a claim leases
// it, a job carries one attempt, and the row stays open until its recharge has an answer. A
// recharge Stripe never acknowledged (an outage, a lost job, a dead worker) is sent again by the
// next attempt under the same Stripe idempotency key ('resume'), once per attempt; a carrier of
// an older attempt is told it is stale. No workers here: the test plays the relay's and the job's
// steps against the SQL functions on real Postgres.
import request from 'supertest';
import { createStripeWorld, type StripeWorld } from '../support/stripe';
import { eventually } from '../support/eventually';

let w: StripeWorld;
beforeAll(async () => {
  w = await createStripeWorld({ workers: false });
});
afterAll(async () => w.close());

async function wantingRecharge() {
  const { orgId, token } = await w.org();
  const paid = await w.topUp(token, 5000);
  expect((await w.pay(paid.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  await eventually(async () => (await w.balance(orgId)) === 5000, { what: 'the top-up credit' });
  const put = await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 6000, amount: 5000 });
  expect(put.status).toBe(200);
  return orgId;
}
/** The relay's claim, for this organisation's row only (other tests' rows are left leased). */
async function claimRow(orgId: string, leaseSeconds: number) {
  const items = await w.ctx.services.moneyIn.claimOutbox(100, leaseSeconds);
  return items.find((i) => i.org_id === orgId && i.task === 'auto_recharge');
}
const row = async (orgId: string) =>
  (await w.ctx.pool.query("select id, attempts, done_at, top_up_id, (next_attempt_at > now()) as later from money_outbox where org_id = $1 and task = 'auto_recharge' order by id", [orgId])).rows;
const wanted = async (orgId: string) => (await w.ctx.pool.query('select recharge_wanted from wallet_money_settings where org_id = $1', [orgId])).rows[0]!.recharge_wanted as boolean;

it('sends again, under the same key, a recharge whose attempt never reported, and only once per attempt', async () => {
  const orgId = await wantingRecharge();
  const m = w.ctx.services.moneyIn;
  const first = await claimRow(orgId, 0); // a lease that lapses at once: the job is "lost"
  expect(first).toMatchObject({ attempt: 1, lease_expired: false });
  const sent = await m.claimRecharge(orgId, 60, first!.id, 1);
  expect(sent.outcome).toBe('claimed');
  if (sent.outcome !== 'claimed') throw new Error('unreachable');
  // The same attempt again (a stalled job run twice): it is being sent; nothing more.
  expect((await m.claimRecharge(orgId, 60, first!.id, 1)).outcome).toBe('in_flight');
  expect(await wanted(orgId)).toBe(true); // still open: Stripe has not answered

  // A new card is saved meanwhile (a Checkout top-up): the recharge sent again must still be the
  // same request, or Stripe refuses the reused key (idempotency_error) and it never goes through.
  await w.ctx.pool.query("update wallet_money_settings set payment_method_id = 'pm_saved_later' where org_id = $1", [orgId]);

  const second = await claimRow(orgId, 60);
  expect(second).toMatchObject({ id: first!.id, attempt: 2, lease_expired: true });
  expect((await m.claimRecharge(orgId, 60, first!.id, 1)).outcome).toBe('stale'); // the lost job, were it to run
  const again = await m.claimRecharge(orgId, 60, first!.id, 2);
  expect(again.outcome).toBe('resume');
  if (again.outcome !== 'resume') throw new Error('unreachable');
  expect(again.top_up.topUpId).toBe(sent.top_up.topUpId); // the same recharge, the same Stripe key
  expect([again.customer_id, again.payment_method_id]).toEqual([sent.customer_id, sent.payment_method_id]);
  expect(sent.payment_method_id).toMatch(/^pm_/);
  expect(sent.payment_method_id).not.toBe('pm_saved_later');

  // Stripe answers with its PaymentIntent: the request is answered; the credit comes by webhook.
  await m.rechargeSubmitted(sent.top_up.topUpId, 'pi_resume_test');
  expect(await row(orgId)).toEqual([expect.objectContaining({ id: first!.id, done_at: expect.any(Date), top_up_id: sent.top_up.topUpId })]);
  expect(await wanted(orgId)).toBe(false);
  expect(await claimRow(orgId, 60)).toBeUndefined();
  expect((await m.claimRecharge(orgId, 60, first!.id, 2)).outcome).toBe('stale');
});

it('backs a row off in SQL after an attempt without an answer, and ignores a stale report', async () => {
  const orgId = await wantingRecharge();
  const m = w.ctx.services.moneyIn;
  const item = await claimRow(orgId, 60);
  expect((await m.claimRecharge(orgId, 60, item!.id, item!.attempt)).outcome).toBe('claimed');
  const r = await m.outboxRetry(item!.id, item!.attempt, 'StripeConnectionError: connect ECONNREFUSED', 30);
  expect(r).toMatchObject({ outcome: 'retrying', attempt: 1 });
  if (r.outcome !== 'retrying') throw new Error('unreachable');
  expect(r.retry_in_ms).toBeGreaterThanOrEqual(500);
  expect(r.retry_in_ms).toBeLessThanOrEqual(1000);
  expect(await row(orgId)).toEqual([expect.objectContaining({ done_at: null, later: true })]);
  expect(await claimRow(orgId, 60)).toBeUndefined(); // not before its backoff
  expect((await m.outboxRetry(item!.id, item!.attempt + 1, 'x', 30)).outcome).toBe('stale');
  await eventually(async () => (await claimRow(orgId, 60)) ?? false, { what: 'the backoff to pass', timeoutMs: 5000 });
});

it('closes the row when a card fails, asks again, and holds the next try in the outbox until the cooldown ends', async () => {
  const orgId = await wantingRecharge();
  const m = w.ctx.services.moneyIn;
  const item = await claimRow(orgId, 60);
  const c = await m.claimRecharge(orgId, 60, item!.id, item!.attempt);
  if (c.outcome !== 'claimed') throw new Error(`claimed expected, got ${c.outcome}`);
  await m.rechargeFailed(c.top_up.topUpId, 'card_declined', 'declined');
  const rows = await row(orgId);
  expect(rows).toHaveLength(2);
  expect(rows[0]).toMatchObject({ done_at: expect.any(Date), top_up_id: c.top_up.topUpId });
  expect(rows[1]).toMatchObject({ done_at: null, top_up_id: null, attempts: 0 });
  expect(await wanted(orgId)).toBe(true);
  const next = await claimRow(orgId, 60);
  const cooled = await m.claimRecharge(orgId, 60, next!.id, next!.attempt);
  expect(cooled.outcome).toBe('cooldown');
  expect((await row(orgId))[1]).toMatchObject({ done_at: null, later: true });
  expect(await claimRow(orgId, 60)).toBeUndefined();
});

it('closes the row without a recharge when the balance recovered meanwhile', async () => {
  const orgId = await wantingRecharge();
  await w.ctx.services.wallet.credit({ orgId, amount: 2000, idempotencyKey: `up-${orgId}`, fingerprint: 'c'.repeat(64), reason: 'up' });
  const item = await claimRow(orgId, 60);
  expect((await w.ctx.services.moneyIn.claimRecharge(orgId, 60, item!.id, item!.attempt)).outcome).toBe('not_needed');
  expect(await row(orgId)).toEqual([expect.objectContaining({ done_at: expect.any(Date), top_up_id: null })]);
  expect(await wanted(orgId)).toBe(false);
});

it('finishes a recharge already claimed when auto-recharge is turned off before Stripe answered', async () => {
  const orgId = await wantingRecharge();
  const m = w.ctx.services.moneyIn;
  const item = await claimRow(orgId, 0);
  const c = await m.claimRecharge(orgId, 60, item!.id, item!.attempt);
  if (c.outcome !== 'claimed') throw new Error(`claimed expected, got ${c.outcome}`);
  expect((await m.putAutoRecharge(orgId, { enabled: false, threshold: 6000, amount: 5000 })).outcome).toBe('found');
  // Stripe may have made the PaymentIntent already: only the same request can tell, so it is
  // sent again rather than left in flight for good (which would block every later recharge).
  const again = await claimRow(orgId, 60);
  const r = await m.claimRecharge(orgId, 60, again!.id, again!.attempt);
  expect(r).toMatchObject({ outcome: 'resume', top_up: { topUpId: c.top_up.topUpId } });
  await m.rechargeSubmitted(c.top_up.topUpId, `pi_off_${orgId}`);
  expect(await wanted(orgId)).toBe(false);
  expect(await claimRow(orgId, 60)).toBeUndefined();
});
