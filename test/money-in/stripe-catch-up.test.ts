// Missed Stripe webhooks (shared/money-in/stripe-catch-up.ts). Stripe stops retrying a webhook
// after three days; whatever it carried must still reach the wallet. The catch-up reads Stripe's
// event list (the real SDK against the simulator's GET /v1/events: created range, types[],
// starting_after paging) and applies, oldest first, every handled event no webhook recorded,
// through the webhook's own handler: an auto-recharge whose payment_intent.succeeded never came is
// credited (and no longer blocks the next one), a payment and its refund both missed end as a
// credit then a debit, nothing is applied twice (a second run, the webhook arriving late), and
// events younger than the settle time are left to their webhook; a catch-up running beside the
// late webhooks of the same events credits once. Real Postgres and Redis.
import request from 'supertest';
import { CATCH_UP_OVERLAP_SECONDS, catchUpStripeEvents } from '../../shared/money-in/stripe-catch-up';
import { stripeCatchUpDeps } from '../../workers/stripe-catch-up';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';
import { createStripeWorld, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
beforeAll(async () => {
  w = await createStripeWorld({ workers: true, env: { AUTO_RECHARGE_COOLDOWN_SECONDS: '1' } });
});
afterAll(async () => w.close());

type Ev = { id: string; type: string; data: { object: Record<string, unknown> } };
const webhookUrl = () => `${w.appUrl}/api/stripe/webhook`;
/** From now on Stripe's webhooks go nowhere (an endpoint down for longer than Stripe retries). */
const webhooksLost = () => {
  w.sim.webhookUrl = undefined;
};
const webhooksBack = () => {
  w.sim.webhookUrl = webhookUrl();
};
/** A run as the schedule makes it, a minute and more after the events (their settle time passed). */
const catchUp = () => catchUpStripeEvents(stripeCatchUpDeps(w.ctx.services), Date.now() + 120_000);
const entries = async (orgId: string) =>
  (await w.ctx.pool.query<{ kind: string; amount: string }>('select kind, amount from ledger_entries where org_id = $1 order by id', [orgId])).rows.map((r) => [r.kind, Number(r.amount)]);
const eventsOf = (orgId: string) => (w.sim.events as Ev[]).filter((e) => JSON.stringify(e.data.object).includes(orgId));

afterEach(() => webhooksBack());

/** A new organisation with 55 top-ups paid at Stripe while its webhooks go nowhere (over a hundred events). */
async function fiftyFiveMissedPayments(keyPrefix: string): Promise<string> {
  const { orgId, token } = await w.org();
  webhooksLost();
  for (let i = 0; i < 55; i++) {
    const res = await w.topUp(token, 500, `${keyPrefix}-${i}`);
    expect((await w.pay(res.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  }
  expect(eventsOf(orgId).length).toBeGreaterThan(100);
  return orgId;
}

it('credits an auto-recharge whose webhook never came, once, and the next recharge is no longer blocked', async () => {
  const { orgId, token } = await w.org();
  const res = await w.topUp(token, 5000);
  expect((await w.pay(res.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  await eventually(async () => ((await w.balance(orgId)) === 5000 ? true : undefined), { what: 'the top-up credit' });

  webhooksLost();
  const on = await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 6000, amount: 5000 });
  expect(on.status).toBe(200);
  const recharges = async () => (await w.ctx.pool.query<{ status: string }>("select status from top_ups where org_id = $1 and source = 'auto_recharge'", [orgId])).rows.map((r) => r.status);
  const rechargePaid = () => eventsOf(orgId).some((e) => e.type === 'payment_intent.succeeded' && (e.data.object.metadata as Record<string, string> | null)?.kind === 'auto_recharge');
  await eventually(async () => (rechargePaid() ? true : undefined), { what: 'the recharge paid at Stripe' });
  // Paid at Stripe, never heard of here: not credited, and still in flight.
  expect(await w.balance(orgId)).toBe(5000);
  expect(await recharges()).toEqual(['pending']);
  const inFlight = await w.ctx.pool.query('select recharge_in_flight is not null as in_flight from wallet_money_settings where org_id = $1', [orgId]);
  expect(inFlight.rows[0]).toEqual({ in_flight: true });

  const report = await catchUp();
  expect(report).toMatchObject({ failed: 0, bounded: false });
  expect(report.recovered).toBeGreaterThanOrEqual(1);
  expect(await w.balance(orgId)).toBe(10_000);
  expect(await recharges()).toEqual(['paid']);
  const after = await w.ctx.pool.query('select recharge_in_flight is null as free from wallet_money_settings where org_id = $1', [orgId]);
  expect(after.rows[0]).toEqual({ free: true });

  // A second run, and the webhooks arriving at last: nothing more.
  expect((await catchUp()).recovered).toBe(0);
  webhooksBack();
  expect((await w.redeliver(eventsOf(orgId))).every((s) => s === 200)).toBe(true);
  expect(await w.balance(orgId)).toBe(10_000);
  expect(await entries(orgId)).toEqual([['topup', 5000], ['topup', 5000]]);
  const m = await w.ctx.services.metrics.registry.metrics();
  expect(m).toMatch(/billing_gates_stripe_catch_up_events_total\{outcome="recovered"\} [1-9]/);
  await expectLedgerConsistent(w.ctx.pool);
});

it('applies a missed payment and its missed refund oldest first: the credit, then the refund taken back', async () => {
  const { orgId, token } = await w.org();
  webhooksLost();
  const res = await w.topUp(token, 3000);
  expect((await w.pay(res.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  const session = w.sim.sessions.get(res.body.checkoutSessionId) as { payment_intent: string };
  const pi = w.sim.paymentIntents.get(session.payment_intent) as { latest_charge: string };
  expect((await w.simPost(`/sandbox/charges/${pi.latest_charge}/refund`, { amount: 1000 })).status).toBe(200);
  expect(await w.balance(orgId)).toBe(0);

  await catchUp();
  expect(await entries(orgId)).toEqual([['topup', 3000], ['topup_refund', -1000]]);
  expect(await w.balance(orgId)).toBe(2000);
  await expectLedgerConsistent(w.ctx.pool);
});

it('leaves events younger than the settle time to their webhook', async () => {
  const { orgId, token } = await w.org();
  webhooksLost();
  const res = await w.topUp(token, 2500);
  expect((await w.pay(res.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  // Run now: the payment's events are seconds old, under STRIPE_CATCH_UP_SETTLE_SECONDS (60).
  await catchUpStripeEvents(stripeCatchUpDeps(w.ctx.services));
  expect(await w.balance(orgId)).toBe(0);
  await catchUp();
  expect(await w.balance(orgId)).toBe(2500);
});

it('reads every page of the list: fifty-five missed payments (over a hundred events) all credited', async () => {
  const orgId = await fiftyFiveMissedPayments('many');
  const report = await catchUp();
  expect(report.pages).toBeGreaterThanOrEqual(2);
  expect(report.failed).toBe(0);
  expect(await w.balance(orgId)).toBe(27_500);
  expect((await entries(orgId)).filter(([kind]) => kind === 'topup')).toHaveLength(55);
});

it('finishes a range with more events than one run reads over the runs after it, the oldest events included', async () => {
  const orgId = await fiftyFiveMissedPayments('backlog');
  // One page (100 events) per run: the range holds more than a run reads.
  const bounded = { ...stripeCatchUpDeps(w.ctx.services), maxPages: 1 };
  const at = Date.now() + 120_000;
  const first = await catchUpStripeEvents(bounded, at);
  expect(first).toMatchObject({ pages: 1, bounded: true, failed: 0 });
  const afterFirst = await w.balance(orgId);
  expect(afterFirst).toBeLessThan(27_500);
  // Each later run reads on from the oldest event the one before reached (the events share a
  // second or two: the listing's own cursor, not a time bound), not the newest page again.
  const runs = [first];
  while (runs.at(-1)!.bounded && runs.length < 10) runs.push(await catchUpStripeEvents(bounded, at));
  expect(runs.at(-1)).toMatchObject({ bounded: false, failed: 0 });
  expect(runs.every((r) => r.until === first.until)).toBe(true);
  expect(await w.balance(orgId)).toBe(27_500);
  expect((await entries(orgId)).filter(([kind]) => kind === 'topup')).toHaveLength(55);
  // The range done, the cursor is its end: the next run reads from there (less the overlap), up to now.
  const next = await catchUpStripeEvents(bounded, at);
  expect(next.from).toBe(first.until - CATCH_UP_OVERLAP_SECONDS);
  expect(next.until).toBe(first.until);
  await expectLedgerConsistent(w.ctx.pool);
});

it('credits once when the catch-up and the late webhooks apply the same events at the same moment', async () => {
  const { orgId, token } = await w.org();
  webhooksLost();
  const res = await w.topUp(token, 4000);
  expect((await w.pay(res.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  const missed = eventsOf(orgId);
  expect(missed.length).toBeGreaterThanOrEqual(2);
  webhooksBack();
  // Each event three times over: the catch-up's run and two webhook deliveries of every event, together.
  const [report, first, second] = await Promise.all([catchUp(), w.redeliver(missed), w.redeliver(missed)]);
  expect(report.failed).toBe(0);
  expect([...first, ...second].every((s) => s === 200)).toBe(true);
  expect(await w.balance(orgId)).toBe(4000);
  expect(await entries(orgId)).toEqual([['topup', 4000]]);
  await expectLedgerConsistent(w.ctx.pool);
});
