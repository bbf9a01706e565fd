// Refunds and disputes reach the wallet (failure mode 32): each partial refund is the cumulative
// amount_refunded less what was taken before; a dispute freezes the wallet, takes the disputed
// amount once when the funds are withdrawn and gives it back once when reinstated, and a refund
// that arrives before its payment was credited waits for the credit instead of being lost. The
// frozen wallet is refused by every gate: purchases (403 wallet_frozen) and calls, on the Redis
// path and on the Postgres path, with a spoken sentence. Failure mode 44: the disputes of one
// charge never take more than its amount (two dispute ids for one charge take it once, and the
// wallet is unfrozen once neither is open), and the simulator resolves a charge's open dispute
// instead of opening a second one.
import Stripe from 'stripe';
import request from 'supertest';
import { jobIds } from '../../shared/queues/queues';
import { REFUSAL_MESSAGES } from '../../shared/calls/call-gate';
import { VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS } from '../../shared/pricing';
import { expectLedgerConsistent } from '../support/invariants';
import { createStripeWorld, TEST_STRIPE_WEBHOOK_SECRET, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
const signer = new Stripe('sk_test_signer_only');
type Ev = { id: string; type: string; data: { object: Record<string, unknown> } };

beforeAll(async () => {
  w = await createStripeWorld();
});
afterAll(async () => {
  await w.close();
});

async function send(event: Ev) {
  const payload = JSON.stringify(event);
  const header = signer.webhooks.generateTestHeaderString({ payload, secret: TEST_STRIPE_WEBHOOK_SECRET });
  return request(w.ctx.app()).post('/api/stripe/webhook').set('content-type', 'application/json').set('stripe-signature', header).send(payload);
}

async function paid(amount: number) {
  const { orgId, token } = await w.org();
  const res = await w.topUp(token, amount);
  await w.pay(res.body.checkoutSessionId, '4242424242424242');
  const session = w.sim.sessions.get(res.body.checkoutSessionId) as { payment_intent: string };
  const pi = w.sim.paymentIntents.get(session.payment_intent) as { latest_charge: string };
  return { orgId, token, topUpId: res.body.topUpId as string, chargeId: pi.latest_charge, paymentIntentId: session.payment_intent };
}

const entries = async (orgId: string) =>
  (await w.ctx.pool.query<{ kind: string; amount: string }>('select kind, amount from ledger_entries where org_id = $1 order by id', [orgId])).rows.map((r) => [r.kind, Number(r.amount)]);
const wallet = async (token: string) => (await request(w.ctx.app()).get('/api/wallet').set('authorization', `Bearer ${token}`)).body;

it('takes back partial refunds of 500 then 700 as debits of 500 and 700, once each, replays included', async () => {
  const { orgId, token, topUpId, chargeId } = await paid(2000);
  expect((await w.simPost(`/sandbox/charges/${chargeId}/refund`, { amount: 500 })).status).toBe(200);
  expect((await w.simPost(`/sandbox/charges/${chargeId}/refund`, { amount: 700 })).status).toBe(200);
  // Every refund event delivered again (Stripe retries): nothing more is taken.
  for (const e of w.sim.events.filter((x) => x.type === 'charge.refunded') as Ev[]) expect((await send(e)).status).toBe(200);
  expect(await entries(orgId)).toEqual([['topup', 2000], ['topup_refund', -500], ['topup_refund', -700]]);
  expect(await w.balance(orgId)).toBe(800);
  const t = await request(w.ctx.app()).get(`/api/wallet/top-ups/${topUpId}`).set('authorization', `Bearer ${token}`);
  expect(t.body).toMatchObject({ credited: 2000, refunded: 1200 });
  await expectLedgerConsistent(w.ctx.pool);
});

it('keeps a refund that arrives before its payment was credited, and applies it when the credit lands', async () => {
  const { orgId, token } = await w.org();
  const res = await w.topUp(token, 2000);
  const url = w.sim.webhookUrl;
  w.sim.webhookUrl = undefined; // Stripe's deliveries delayed: we replay them out of order below.
  const before = w.sim.events.length;
  await w.pay(res.body.checkoutSessionId, '4242424242424242');
  const session = w.sim.sessions.get(res.body.checkoutSessionId) as { payment_intent: string };
  const chargeId = (w.sim.paymentIntents.get(session.payment_intent) as { latest_charge: string }).latest_charge;
  await w.simPost(`/sandbox/charges/${chargeId}/refund`, { amount: 300 });
  w.sim.webhookUrl = url;
  const held = w.sim.events.slice(before) as Ev[];
  const refund = held.find((e) => e.type === 'charge.refunded') as Ev;
  expect((await send(refund)).status).toBe(200);
  expect(await w.balance(orgId)).toBe(0); // never a refund of money the wallet never got
  for (const e of held.filter((x) => x.type === 'checkout.session.completed' || x.type === 'payment_intent.succeeded')) expect((await send(e)).status).toBe(200);
  expect(await entries(orgId)).toEqual([['topup', 2000], ['topup_refund', -300]]);
  await expectLedgerConsistent(w.ctx.pool);
});

it('applies a refund that arrives at the same moment as its payment\'s credit, however they interleave (ten payments)', async () => {
  for (let i = 0; i < 10; i++) {
    const { orgId, token } = await w.org();
    const res = await w.topUp(token, 2000);
    const url = w.sim.webhookUrl;
    w.sim.webhookUrl = undefined; // delivered below, at once
    const before = w.sim.events.length;
    await w.pay(res.body.checkoutSessionId, '4242424242424242');
    const session = w.sim.sessions.get(res.body.checkoutSessionId) as { payment_intent: string };
    const chargeId = (w.sim.paymentIntents.get(session.payment_intent) as { latest_charge: string }).latest_charge;
    await w.simPost(`/sandbox/charges/${chargeId}/refund`, { amount: 300 });
    w.sim.webhookUrl = url;
    const held = w.sim.events.slice(before) as Ev[];
    const credit = held.find((e) => e.type === 'checkout.session.completed') as Ev;
    const refund = held.find((e) => e.type === 'charge.refunded') as Ev;
    const answers = await Promise.all([send(credit), send(refund)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(await entries(orgId)).toEqual([['topup', 2000], ['topup_refund', -300]]);
  }
  await expectLedgerConsistent(w.ctx.pool);
});

it('freezes on a dispute, takes the amount once, gives it back once when won, and unfreezes; the balance may go negative', async () => {
  const { orgId, token, chargeId } = await paid(2000);
  // Spend most of it: the dispute then takes the wallet below zero.
  const spent = await w.ctx.services.store.chargeCall({ orgId, callId: `call-${orgId}`, amount: 1800, reference: 'spent' });
  expect(spent.outcome).toBe('charged');
  // A call in progress when the dispute comes: the freeze ends it through its control URL.
  await w.ctx.services.store.registerPhoneNumber({ orgId, e164: '+14155550198', vapiPhoneNumberId: `pn-live-${orgId}`, assistantId: 'asst-1' });
  const live = await w.ctx.services.calls.gate.decide(`live-${orgId}`, { vapiPhoneNumberId: `pn-live-${orgId}`, e164: null });
  expect(live.kind).toBe('allowed');
  await w.ctx.services.calls.admitted(live);
  const opened = await w.simPost(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'open' });
  expect(opened.status).toBe(200);
  expect(await wallet(token)).toMatchObject({ frozen: true, balance: -1800 });
  expect((await wallet(token)).frozenReason).toMatch(/^dispute /);

  // Every gate refuses a frozen wallet.
  const buy = await request(w.ctx.app()).post('/api/managed-telephony/provision').set('authorization', `Bearer ${token}`).set('idempotency-key', `buy-${orgId}`).send({ areaCode: '415' });
  expect(buy.status).toBe(403);
  expect(buy.body.error).toBe('wallet_frozen');
  await expectLedgerConsistent(w.ctx.pool);

  const created = w.sim.events.find((e) => e.type === 'charge.dispute.created' && (e.data as Ev['data']).object.charge === chargeId) as Ev;
  expect(await w.ctx.services.queues.callMeters.getJob(jobIds.stop(`live-${orgId}`, `dispute-${created.id}`))).toBeDefined();

  // Won: reinstated, then closed (each delivered twice).
  const reinstated: Ev = { ...created, id: `evt_reinstated_${chargeId}`, type: 'charge.dispute.funds_reinstated', data: { object: { ...created.data.object, status: 'won' } } };
  const closed: Ev = { ...created, id: `evt_closed_${chargeId}`, type: 'charge.dispute.closed', data: { object: { ...created.data.object, status: 'won' } } };
  for (const e of [reinstated, reinstated, closed, closed]) expect((await send(e)).status).toBe(200);
  expect(await entries(orgId)).toEqual([['topup', 2000], ['call', -1800], ['dispute', -2000], ['dispute_reversal', 2000]]);
  expect(await wallet(token)).toMatchObject({ frozen: false, balance: 200, frozenReason: null });
  const events = await request(w.ctx.app()).get('/api/wallet/events').set('authorization', `Bearer ${token}`);
  expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(['wallet.unfrozen', 'wallet.frozen']);
  await expectLedgerConsistent(w.ctx.pool);
});

it('keeps an operator\'s freeze when the dispute that froze the wallet first is closed', async () => {
  const { orgId, token, chargeId } = await paid(2000);
  expect((await w.simPost(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'open' })).status).toBe(200);
  expect(await wallet(token)).toMatchObject({ frozen: true });
  // The operator freezes it too, for a reason of their own (it even begins with "dispute").
  expect((await w.ctx.services.controls.freeze(orgId, 'dispute review by finance', 'operator'))?.outcome).toBe('already_frozen');
  const created = w.sim.events.find((e) => e.type === 'charge.dispute.created' && (e.data as Ev['data']).object.charge === chargeId) as Ev;
  const closed: Ev = { ...created, id: `evt_closed_op_${chargeId}`, type: 'charge.dispute.closed', data: { object: { ...created.data.object, status: 'won' } } };
  expect((await send(closed)).status).toBe(200);
  expect(await wallet(token)).toMatchObject({ frozen: true, frozenReason: 'dispute review by finance' });
  await expectLedgerConsistent(w.ctx.pool);
});

it('keeps the disputed amount when a dispute is lost, and never gives back what was not taken', async () => {
  const { orgId, token, chargeId } = await paid(1000);
  expect((await w.simPost(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'lost' })).status).toBe(200);
  expect(await entries(orgId)).toEqual([['topup', 1000], ['dispute', -1000]]);
  expect(await wallet(token)).toMatchObject({ frozen: false, balance: 0 });
  // A reinstatement arriving for a dispute whose withdrawal never came gives nothing back.
  const created = w.sim.events.find((e) => e.type === 'charge.dispute.created' && (e.data as Ev['data']).object.charge === chargeId) as Ev;
  const other: Ev = { ...created, id: 'evt_reinstate_unknown', type: 'charge.dispute.funds_reinstated', data: { object: { ...created.data.object, id: 'du_never_withdrawn' } } };
  expect((await send(other)).status).toBe(200);
  expect(await w.balance(orgId)).toBe(0);
  await expectLedgerConsistent(w.ctx.pool);
});

it('resolves the open dispute of a …0259 payment when the simulator is asked again: debited once, given back once when won, and unfrozen', async () => {
  const { orgId, token } = await w.org();
  const res = await w.topUp(token, 3000);
  expect((await w.pay(res.body.checkoutSessionId, '4000000000000259')).status).toBe(200);
  const session = w.sim.sessions.get(res.body.checkoutSessionId) as { payment_intent: string };
  const chargeId = (w.sim.paymentIntents.get(session.payment_intent) as { latest_charge: string }).latest_charge;
  expect(await entries(orgId)).toEqual([['topup', 3000], ['dispute', -3000]]);
  expect(await wallet(token)).toMatchObject({ frozen: true, balance: 0 });

  const won = await w.simPost(`/sandbox/charges/${chargeId}/dispute`, { outcome: 'won' });
  expect(won.status).toBe(200);
  const ids = new Set(w.sim.events.filter((e) => String(e.type).startsWith('charge.dispute.') && (e.data as Ev['data']).object.charge === chargeId).map((e) => (e.data as Ev['data']).object.id));
  expect(ids).toEqual(new Set([won.body.id]));
  expect(await entries(orgId)).toEqual([['topup', 3000], ['dispute', -3000], ['dispute_reversal', 3000]]);
  expect(await wallet(token)).toMatchObject({ frozen: false, balance: 3000, frozenReason: null });
  await expectLedgerConsistent(w.ctx.pool);
});

describe('two dispute ids for one charge (failure mode 44)', () => {
  /** A signed Stripe event for a dispute of the charge, as Stripe sends it. */
  const disputeEvent = (type: string, disputeId: string, p: { chargeId: string; paymentIntentId: string }, status: string): Ev => ({
    id: `evt_${type.replace(/\./g, '_')}_${disputeId}`,
    type,
    data: { object: { id: disputeId, object: 'dispute', amount: 3000, charge: p.chargeId, payment_intent: p.paymentIntentId, currency: 'gbp', reason: 'fraudulent', status } },
  });
  const disputeNet = async (orgId: string) =>
    Number((await w.ctx.pool.query("select coalesce(sum(amount), 0) as n from ledger_entries where org_id = $1 and kind in ('dispute', 'dispute_reversal')", [orgId])).rows[0].n);

  it.each([
    ['the first won, then the second lost', 'won', 'lost'],
    ['the first lost, then the second won', 'lost', 'won'],
  ] as const)('never take more than the charge\'s 3,000, and the wallet is unfrozen once neither is open: %s', async (_name, first, second) => {
    const p = await paid(3000);
    const { orgId, token } = p;
    const [a, b] = [`du_a_${p.chargeId}`, `du_b_${p.chargeId}`];
    // Both opened and both withdrawn (each event delivered twice, as Stripe retries).
    for (const e of [
      disputeEvent('charge.dispute.created', a, p, 'needs_response'),
      disputeEvent('charge.dispute.created', b, p, 'needs_response'),
      disputeEvent('charge.dispute.funds_withdrawn', a, p, 'under_review'),
      disputeEvent('charge.dispute.funds_withdrawn', b, p, 'under_review'),
    ]) {
      expect((await send(e)).status).toBe(200);
      expect((await send(e)).status).toBe(200);
      expect(await disputeNet(orgId)).toBeGreaterThanOrEqual(-3000);
    }
    expect(await entries(orgId)).toEqual([['topup', 3000], ['dispute', -3000]]);
    expect(await wallet(token)).toMatchObject({ frozen: true, balance: 0 });

    const close = async (id: string, outcome: 'won' | 'lost') => {
      const list = outcome === 'won' ? [disputeEvent('charge.dispute.funds_reinstated', id, p, 'won')] : [];
      for (const e of [...list, disputeEvent('charge.dispute.closed', id, p, outcome)]) {
        expect((await send(e)).status).toBe(200);
        expect(await disputeNet(orgId)).toBeGreaterThanOrEqual(-3000);
      }
    };
    await close(a, first);
    // One dispute of the charge is still open: the wallet stays frozen.
    expect(await wallet(token)).toMatchObject({ frozen: true });
    await close(b, second);

    // One dispute lost: the charge's amount taken once; both closed: unfrozen.
    expect(await disputeNet(orgId)).toBe(-3000);
    expect(await wallet(token)).toMatchObject({ frozen: false, balance: 0, frozenReason: null });
    expect(await entries(orgId)).toEqual(
      first === 'won'
        ? [['topup', 3000], ['dispute', -3000], ['dispute_reversal', 3000], ['dispute', -3000]]
        : [['topup', 3000], ['dispute', -3000]],
    );
    const charge = await w.ctx.pool.query('select amount, dispute_taken from stripe_charges where charge_id = $1', [p.chargeId]);
    expect(charge.rows).toEqual([{ amount: 3000, dispute_taken: 3000 }]);
    const events = await request(w.ctx.app()).get('/api/wallet/events').set('authorization', `Bearer ${token}`);
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual(['wallet.unfrozen', 'wallet.frozen']);
    await expectLedgerConsistent(w.ctx.pool);
  });

  it('refuses, by a check on the charge row, disputes that would hold more than the charge', async () => {
    const p = await paid(1000);
    await send(disputeEvent('charge.dispute.created', `du_c_${p.chargeId}`, p, 'needs_response'));
    await expect(w.ctx.pool.query('update stripe_charges set dispute_taken = amount + 1 where charge_id = $1', [p.chargeId])).rejects.toThrow(/stripe_charges_disputes_within_amount/);
  });
});

it('refuses calls on a frozen wallet with a spoken sentence, from Redis and from Postgres', async () => {
  const { orgId } = await w.org(5000);
  const reg = await w.ctx.services.store.registerPhoneNumber({ orgId, e164: '+14155550199', vapiPhoneNumberId: `pn-${orgId}`, assistantId: 'asst-1' });
  expect(reg.outcome).toBe('registered');
  const ok = await w.ctx.services.calls.gate.decide(`c1-${orgId}`, { vapiPhoneNumberId: `pn-${orgId}`, e164: null });
  expect(ok.kind).toBe('allowed');
  const f = await w.ctx.services.controls.freeze(orgId, 'operator test', 'operator');
  expect(f?.outcome).toBe('frozen');
  if (f === undefined) throw new Error('unreachable');
  await w.ctx.services.wallet.writeThrough(orgId, f.wallet);
  const refused = await w.ctx.services.calls.gate.decide(`c2-${orgId}`, { vapiPhoneNumberId: `pn-${orgId}`, e164: null });
  expect(refused).toMatchObject({ kind: 'refused', reason: 'wallet_frozen', path: 'cache', message: REFUSAL_MESSAGES.wallet_frozen });
  const c = w.ctx.config;
  const pg = await w.ctx.services.calls.store.admit({
    orgId,
    callId: `c3-${orgId}`,
    ratePerMinute: c.pricing.callRatePerMinute,
    minBalance: c.pricing.callMinBalance,
    safetyMarginSeconds: c.callGate.safetyMarginSeconds,
    holdGraceSeconds: c.callGate.holdGraceSeconds,
    policy: c.callGate.holdPolicy,
    holdSeconds: c.callGate.holdSeconds,
    minDurationSeconds: VAPI_MIN_DURATION_SECONDS,
    maxDurationSeconds: VAPI_MAX_DURATION_SECONDS,
  });
  expect(pg).toEqual({ outcome: 'refused', reason: 'wallet_frozen' });
  // The cache refilled from Postgres after it lost the wallet still knows it is frozen.
  await w.ctx.services.cache.invalidate(orgId);
  const afterFill = await w.ctx.services.calls.gate.decide(`c4-${orgId}`, { vapiPhoneNumberId: `pn-${orgId}`, e164: null });
  expect(afterFill).toMatchObject({ kind: 'refused', reason: 'wallet_frozen' });
  const u = await w.ctx.services.controls.unfreeze(orgId, 'operator');
  if (u === undefined) throw new Error('unreachable');
  await w.ctx.services.wallet.writeThrough(orgId, u.wallet);
  expect((await w.ctx.services.calls.gate.decide(`c5-${orgId}`, { vapiPhoneNumberId: `pn-${orgId}`, e164: null })).kind).toBe('allowed');
});
