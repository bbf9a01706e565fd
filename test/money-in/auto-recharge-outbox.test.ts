// Issue 22, items 4 and 5: the money outbox (Postgres) is the only scheduler of a recharge and of
// its retries; a BullMQ job only carries one attempt. A `recharge_wanted` row stays due until its
// recharge has an answer (a PaymentIntent recorded, or a failure counted); a claim leases it, so a
// lost job or a dead worker only lets the lease lapse and the relay claims it again; a Stripe error
// backs it off in SQL; a recharge Stripe never answered is sent again under the same idempotency
// key. Real Postgres and Redis, the workers and relay of the worker process, the real `stripe` SDK
// and the Stripe simulator, reached through a TCP proxy the tests break.
import request from 'supertest';
import { relayOutbox } from '../../workers/money-in-worker';
import { expectLedgerConsistent } from '../support/invariants';
import { createStripeWorld, type StripeWorld } from '../support/stripe';
import { eventually } from '../support/eventually';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A lease of two seconds and retries at most two seconds apart keep these tests short; the
// defaults (MONEY_OUTBOX_LEASE_SECONDS=60, AUTO_RECHARGE_RETRY_MAX_SECONDS=300) are for production.
const FAST = { MONEY_OUTBOX_LEASE_SECONDS: '2', AUTO_RECHARGE_RETRY_MAX_SECONDS: '2', AUTO_RECHARGE_COOLDOWN_SECONDS: '1' };

let w: StripeWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

/** An organisation whose card was saved by a paid 5000 top-up, auto-recharge off. */
async function cardOnFile(world: StripeWorld) {
  const { orgId, token } = await world.org();
  const res = await world.topUp(token, 5000);
  expect(res.status).toBe(201);
  expect((await world.pay(res.body.checkoutSessionId, '4242424242424242')).status).toBe(200);
  await eventually(async () => (await world.balance(orgId)) === 5000, { what: 'the top-up credit' });
  return { orgId, token };
}
/** Available 5000 is below 6000: turning it on asks for a recharge of 5000 at once. */
async function turnOn(world: StripeWorld, token: string) {
  const put = await request(world.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 6000, amount: 5000 });
  expect(put.status).toBe(200);
}
const recharges = async (world: StripeWorld, orgId: string) =>
  (await world.ctx.pool.query<{ status: string }>("select status from top_ups where org_id = $1 and source = 'auto_recharge' order by created_at", [orgId])).rows.map((r) => r.status);
/** The simulator's PaymentIntents for this organisation's recharges: what Stripe would charge. */
const paymentIntentsAtStripe = (world: StripeWorld, orgId: string) =>
  [...world.sim.paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string> | undefined)?.orgId === orgId && (pi.metadata as Record<string, string>).kind === 'auto_recharge');
const rechargeRowsDue = async (world: StripeWorld, orgId: string) =>
  (await world.ctx.pool.query<{ n: number }>("select count(*)::int as n from money_outbox where org_id = $1 and task = 'auto_recharge' and done_at is null", [orgId])).rows[0]!.n;

it('auto-recharge resumes after a Stripe outage longer than its retries', async () => {
  w = await createStripeWorld({ workers: true, stripeProxy: true, env: FAST });
  const world = w;
  const { orgId, token } = await cardOnFile(world);

  await world.proxy!.down(); // Stripe unreachable
  await turnOn(world, token);
  await eventually(async () => (await recharges(world, orgId)).length === 1, { what: 'the recharge to be claimed' });
  // Longer than a BullMQ job's own retries ever lasted (five attempts, 1+2+4+8 s of backoff at
  // most): the job that carried the first attempt is long finished when Stripe comes back.
  await sleep(20_000);
  expect(paymentIntentsAtStripe(world, orgId)).toHaveLength(0);
  expect(await world.balance(orgId)).toBe(5000);

  await world.proxy!.up();
  await eventually(async () => (await world.balance(orgId)) === 10_000, { what: 'the recharge credit', timeoutMs: 15_000 });
  await sleep(1500); // time for a second charge, were there one
  expect(await world.balance(orgId)).toBe(10_000);
  expect(paymentIntentsAtStripe(world, orgId)).toHaveLength(1);
  expect(await recharges(world, orgId)).toEqual(['paid']);
  expect(await rechargeRowsDue(world, orgId)).toBe(0);
  const settings = await world.ctx.pool.query('select recharge_wanted, recharge_in_flight from wallet_money_settings where org_id = $1', [orgId]);
  expect(settings.rows[0]).toEqual({ recharge_wanted: false, recharge_in_flight: null });
  // What the retries recorded says what went wrong, and carries no secret.
  const tried = await world.ctx.pool.query<{ attempts: number; last_error: string }>("select attempts, last_error from money_outbox where org_id = $1 and task = 'auto_recharge'", [orgId]);
  expect(tried.rows).toHaveLength(1);
  expect(tried.rows[0]!.attempts).toBeGreaterThan(5);
  expect(tried.rows[0]!.last_error).toMatch(/^StripeConnectionError/);
  expect(tried.rows[0]!.last_error).not.toContain(world.ctx.services.config.stripe.secretKey);
  const m = await world.ctx.services.metrics.registry.metrics();
  expect(m).toMatch(/billing_gates_money_outbox_retries_total\{task="auto_recharge",reason="error"\} [1-9]/);
  await expectLedgerConsistent(world.ctx.pool);
}, 60_000);

it('a recharge whose BullMQ job was lost still runs', async () => {
  w = await createStripeWorld({ workers: false, env: FAST });
  const world = w;
  const { orgId, token } = await cardOnFile(world);
  await turnOn(world, token);

  // The relay claims the outbox row and queues its job; then Redis loses every job of the queue
  // (a restart without persistence, an eviction) before a worker took it.
  expect(await relayOutbox(world.ctx.services)).toBeGreaterThanOrEqual(1);
  const queue = world.ctx.services.queues.autoRecharges;
  const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized');
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  await queue.obliterate({ force: true });
  expect(Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0)).toBe(0);

  world.startWorkers();
  await eventually(async () => (await world.balance(orgId)) === 10_000, { what: 'the recharge credit', timeoutMs: 15_000 });
  await sleep(1000);
  expect(await world.balance(orgId)).toBe(10_000);
  expect(paymentIntentsAtStripe(world, orgId)).toHaveLength(1);
  expect(await recharges(world, orgId)).toEqual(['paid']);
  expect(await rechargeRowsDue(world, orgId)).toBe(0);
  const m = await world.ctx.services.metrics.registry.metrics();
  expect(m).toMatch(/billing_gates_money_outbox_retries_total\{task="auto_recharge",reason="lease_expired"\} [1-9]/);
  await expectLedgerConsistent(world.ctx.pool);
}, 40_000);

it('a PaymentIntent created while its answer was lost is not created again when the recharge is sent again', async () => {
  w = await createStripeWorld({ workers: true, stripeProxy: true, env: FAST });
  const world = w;
  const { orgId, token } = await cardOnFile(world);

  // Stripe takes the request and charges the card, but neither its answer nor (yet) its webhook
  // reaches the service: the recharge stays in flight with no PaymentIntent recorded.
  const webhookUrl = world.sim.webhookUrl;
  world.sim.webhookUrl = undefined;
  world.proxy!.loseAnswers();
  await turnOn(world, token);
  await eventually(async () => paymentIntentsAtStripe(world, orgId).length === 1, { what: 'the PaymentIntent at Stripe' });
  await eventually(async () => {
    const r = await world.ctx.pool.query("select last_error from money_outbox where org_id = $1 and task = 'auto_recharge' and done_at is null", [orgId]);
    return typeof r.rows[0]?.last_error === 'string';
  }, { what: 'a retry scheduled in the outbox' });

  // Answers flow again: the relay sends the same recharge under the same idempotency key, and
  // Stripe answers with the PaymentIntent it made the first time.
  await world.proxy!.up();
  const pi = paymentIntentsAtStripe(world, orgId)[0]!;
  await eventually(async () => {
    const r = await world.ctx.pool.query("select payment_intent_id from top_ups where org_id = $1 and source = 'auto_recharge'", [orgId]);
    return r.rows[0]?.payment_intent_id === pi.id;
  }, { what: 'the PaymentIntent recorded' });
  expect(await rechargeRowsDue(world, orgId)).toBe(0);
  expect(await world.balance(orgId)).toBe(5000); // the credit waits for the webhook

  // Stripe retries its webhook: the credit lands, once.
  world.sim.webhookUrl = webhookUrl;
  const events = world.sim.events.filter((e) => {
    const o = (e.data as { object: Record<string, unknown> }).object;
    return o.id === pi.id || o.payment_intent === pi.id;
  });
  expect(events.length).toBeGreaterThan(0);
  expect(await world.redeliver([...events, ...events])).toEqual([...events, ...events].map(() => 200));
  await sleep(1000);
  expect(await world.balance(orgId)).toBe(10_000);
  expect(paymentIntentsAtStripe(world, orgId)).toHaveLength(1);
  expect(await recharges(world, orgId)).toEqual(['paid']);
  await expectLedgerConsistent(world.ctx.pool);
}, 40_000);
