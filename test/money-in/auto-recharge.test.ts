// Auto-recharge (failure mode 33): evaluated in the money movement itself (ledger_post, under
// the wallet lock) against the live available amount; at most one recharge in flight per wallet;
// a declining saved card gives a counted auto_recharge.failed each time, and the third failure in
// a row turns auto-recharge off (auto_recharge.disabled): nothing loops. Runs the money-in workers
// and the outbox relay, the real SDK, and the Stripe simulator's off-session charges.
import request from 'supertest';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';
import { createStripeWorld, type StripeWorld } from '../support/stripe';

let w: StripeWorld;

beforeAll(async () => {
  w = await createStripeWorld({ workers: true, env: { AUTO_RECHARGE_COOLDOWN_SECONDS: '1' } });
});
afterAll(async () => {
  await w.close();
});

async function cardOnFile(card: string, amount = 5000) {
  const { orgId, token } = await w.org();
  const res = await w.topUp(token, amount);
  const p = await w.pay(res.body.checkoutSessionId, card);
  expect(p.status).toBe(200);
  return { orgId, token };
}
const recharges = async (orgId: string) =>
  (await w.ctx.pool.query<{ status: string }>("select status from top_ups where org_id = $1 and source = 'auto_recharge' order by created_at", [orgId])).rows.map((r) => r.status);
const eventTypes = async (orgId: string) =>
  (await w.ctx.pool.query<{ type: string }>('select type from wallet_events where org_id = $1 order by id', [orgId])).rows.map((r) => r.type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('refuses to enable auto-recharge without a saved card (409 no_payment_method)', async () => {
  const { token } = await w.org();
  const r = await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 1000, amount: 5000 });
  expect(r.status).toBe(409);
  expect(r.body.error).toBe('no_payment_method');
});

it('fires exactly one recharge when concurrent charges take available below the threshold', async () => {
  const { orgId, token } = await cardOnFile('4242424242424242');
  const put = await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 1000, amount: 5000 });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ enabled: true, threshold: 1000, amount: 5000, currency: 'gbp', paymentMethod: { brand: 'visa', last4: '4242' } });
  // Twelve charges of 375 at once: 5000 → 500, crossing below 1000 on the way.
  await Promise.all(Array.from({ length: 12 }, (_, i) => w.ctx.services.store.chargeCall({ orgId, callId: `burst-${orgId}-${i}`, amount: 375, reference: 'burst' })));
  await eventually(async () => (await w.balance(orgId)) === 5500, { what: 'the recharge credit' });
  // More charges while above the threshold, and time past the cooldown: still one recharge.
  await w.ctx.services.store.chargeCall({ orgId, callId: `after-${orgId}`, amount: 100, reference: 'after' });
  await sleep(1500);
  expect(await recharges(orgId)).toEqual(['paid']);
  expect(await w.balance(orgId)).toBe(5400);
  await expectLedgerConsistent(w.ctx.pool);
});

it('counts each declined recharge, turns auto-recharge off after three in a row, and then stops', async () => {
  // This card pays in checkout but every off-session charge needs authentication.
  const { orgId, token } = await cardOnFile('4000002760003184', 1200);
  const put = await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 1000, amount: 5000 });
  expect(put.status).toBe(200);
  await w.ctx.services.store.chargeCall({ orgId, callId: `dip-${orgId}`, amount: 500, reference: 'dip' });
  await eventually(async () => (await eventTypes(orgId)).includes('auto_recharge.disabled'), { what: 'auto_recharge.disabled', timeoutMs: 15_000 });
  await sleep(2500);
  expect(await recharges(orgId)).toEqual(['failed', 'failed', 'failed']);
  expect((await eventTypes(orgId)).filter((t) => t.startsWith('auto_recharge.'))).toEqual(['auto_recharge.failed', 'auto_recharge.failed', 'auto_recharge.failed', 'auto_recharge.disabled']);
  const settings = await request(w.ctx.app()).get('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`);
  expect(settings.body.enabled).toBe(false);
  expect(await w.balance(orgId)).toBe(700);
  const m = await w.ctx.services.metrics.registry.metrics();
  expect(m).toMatch(/billing_gates_auto_recharges_total\{outcome="failed"\} [3-9]/);
  expect(m).toMatch(/billing_gates_auto_recharges_total\{outcome="disabled"\} 1/);
});

it('runs no recharge for a frozen wallet', async () => {
  const { orgId, token } = await cardOnFile('4242424242424242', 1200);
  await request(w.ctx.app()).put('/api/wallet/auto-recharge').set('authorization', `Bearer ${token}`).send({ enabled: true, threshold: 1000, amount: 5000 });
  await w.ctx.services.controls.freeze(orgId, 'operator hold', 'operator');
  await w.ctx.services.store.chargeCall({ orgId, callId: `frozen-${orgId}`, amount: 500, reference: 'x' });
  await sleep(1000);
  expect(await recharges(orgId)).toEqual([]);
});
