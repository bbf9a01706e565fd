// Failure modes 31–34, each pinned at the SQL functions that guard it (the end-to-end tests in
// this folder drive the same paths through the Stripe simulator). Each test fails if its guard is
// removed: the per-PaymentIntent ledger key, the cumulative refund bookkeeping and per-dispute
// keys, the recharge_wanted / recharge_in_flight fields, and the alerts_low set.
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx.close();
});

async function pendingTopUp(orgId: string, amount: number) {
  const r = await ctx.services.moneyIn.createTopUp({ orgId, amount, idempotencyKey: `k-${Math.random()}`, fingerprint: 'b'.repeat(64) });
  if (r.outcome !== 'created') throw new Error('no top-up');
  return r.top_up.topUpId;
}
const succeeded = (orgId: string, topUpId: string, eventId: string, type: string, pi: string, amount: number) =>
  ctx.services.moneyIn.paymentSucceeded({ eventId, type, topUpId, orgId, paymentIntentId: pi, amount, currency: 'gbp', sessionId: null, customerId: null, paymentMethodId: null, cardBrand: null, cardLast4: null });
const kinds = async (orgId: string) => (await ctx.pool.query<{ kind: string; amount: string }>('select kind, amount from ledger_entries where org_id = $1 order by id', [orgId])).rows.map((r) => `${r.kind}:${r.amount}`);

it('31: credits one payment once when two different events (and copies of each) describe it concurrently', async () => {
  const orgId = await createFundedOrg(ctx.services, 0);
  const topUpId = await pendingTopUp(orgId, 2000);
  const pi = `pi_fm31_${orgId}`;
  const results = await Promise.all([
    ...Array.from({ length: 5 }, () => succeeded(orgId, topUpId, `evt_a_${orgId}`, 'checkout.session.completed', pi, 2000)),
    ...Array.from({ length: 5 }, () => succeeded(orgId, topUpId, `evt_b_${orgId}`, 'payment_intent.succeeded', pi, 2000)),
  ]);
  expect(results.filter((r) => r.outcome === 'credited')).toHaveLength(1);
  expect(await kinds(orgId)).toEqual(['topup:2000']);
  await expectLedgerConsistent(ctx.pool);
});

it('32: takes back refunds and a withdrawn dispute, and gives a won dispute back exactly once', async () => {
  const orgId = await createFundedOrg(ctx.services, 0);
  const topUpId = await pendingTopUp(orgId, 3000);
  const pi = `pi_fm32_${orgId}`;
  await succeeded(orgId, topUpId, `evt_pay_${orgId}`, 'payment_intent.succeeded', pi, 3000);
  const m = ctx.services.moneyIn;
  const refund = (id: string, cumulative: number) => m.chargeRefunded({ eventId: id, type: 'charge.refunded', chargeId: `ch_${orgId}`, paymentIntentId: pi, amountRefunded: cumulative, currency: 'gbp' });
  await refund(`evt_r1_${orgId}`, 500);
  await refund(`evt_r2_${orgId}`, 1200);
  await refund(`evt_r1_late_${orgId}`, 500); // an older total arriving late takes nothing more
  const dispute = (id: string, type: string) => m.disputeEvent({ eventId: id, type, disputeId: `du_${orgId}`, chargeId: `ch_${orgId}`, paymentIntentId: pi, amount: 1000, currency: 'gbp', status: 'won' });
  await Promise.all([dispute(`evt_w_${orgId}`, 'charge.dispute.funds_withdrawn'), dispute(`evt_w2_${orgId}`, 'charge.dispute.funds_withdrawn')]);
  await Promise.all([dispute(`evt_i_${orgId}`, 'charge.dispute.funds_reinstated'), dispute(`evt_i2_${orgId}`, 'charge.dispute.funds_reinstated')]);
  expect(await kinds(orgId)).toEqual(['topup:3000', 'topup_refund:-500', 'topup_refund:-700', 'dispute:-1000', 'dispute_reversal:1000']);
  await expectLedgerConsistent(ctx.pool);
});

it('33: asks for one recharge however many concurrent debits land below the threshold, and claims it once', async () => {
  const orgId = await createFundedOrg(ctx.services, 3000);
  await ctx.pool.query("insert into wallet_money_settings (org_id, stripe_customer_id, payment_method_id, payment_method_brand, payment_method_last4) values ($1, 'cus_x', 'pm_x', 'visa', '4242')", [orgId]);
  const put = await ctx.services.moneyIn.putAutoRecharge(orgId, { enabled: true, threshold: 1000, amount: 5000 });
  expect(put.outcome).toBe('found');
  await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.services.store.chargeCall({ orgId, callId: `fm33-${orgId}-${i}`, amount: 140, reference: 'x' })));
  const asked = await ctx.pool.query("select count(*)::int as n from money_outbox where org_id = $1 and task = 'auto_recharge'", [orgId]);
  expect(asked.rows[0].n).toBe(1);
  const row = (await ctx.services.moneyIn.claimOutbox(100, 60)).find((i) => i.org_id === orgId && i.task === 'auto_recharge');
  if (!row) throw new Error('no recharge row');
  // Five carriers of the attempt at once (a job run twice, say): one sends it, the others are
  // told it is in flight.
  const claims = await Promise.all(Array.from({ length: 5 }, () => ctx.services.moneyIn.claimRecharge(orgId, 60, row.id, row.attempt)));
  expect(claims.filter((c) => c.outcome === 'claimed')).toHaveLength(1);
  expect(claims.filter((c) => c.outcome === 'in_flight')).toHaveLength(4);
  // A failure is counted and visible, and the next try waits for the cooldown.
  const claimed = claims.find((c) => c.outcome === 'claimed');
  if (!claimed || claimed.outcome !== 'claimed') throw new Error('unreachable');
  await ctx.services.moneyIn.rechargeFailed(claimed.top_up.topUpId, 'card_declined', 'declined');
  const events = await ctx.pool.query<{ type: string }>('select type from wallet_events where org_id = $1', [orgId]);
  expect(events.rows.map((r) => r.type)).toEqual(['auto_recharge.failed']);
  const next = (await ctx.services.moneyIn.claimOutbox(100, 60)).find((i) => i.org_id === orgId && i.task === 'auto_recharge');
  if (!next) throw new Error('the failure did not ask again');
  expect((await ctx.services.moneyIn.claimRecharge(orgId, 60, next.id, next.attempt)).outcome).toBe('cooldown');
});

it('34: sends one balance.low per crossing, not one per debit below the line, and re-arms only after recovering', async () => {
  const orgId = await createFundedOrg(ctx.services, 1000);
  await ctx.services.moneyIn.putAlerts(orgId, [500], null, 'x'.repeat(40));
  for (let i = 0; i < 10; i++) await ctx.services.store.chargeCall({ orgId, callId: `fm34-${orgId}-${i}`, amount: 90, reference: 'x' });
  await ctx.services.wallet.credit({ orgId, amount: 1000, idempotencyKey: `up-${orgId}`, fingerprint: 'c'.repeat(64), reason: 'up' });
  for (let i = 10; i < 20; i++) await ctx.services.store.chargeCall({ orgId, callId: `fm34-${orgId}-${i}`, amount: 90, reference: 'x' });
  const events = await ctx.pool.query<{ type: string }>('select type from wallet_events where org_id = $1 order by id', [orgId]);
  expect(events.rows.map((r) => r.type)).toEqual(['balance.low', 'balance.recovered', 'balance.low']);
});
