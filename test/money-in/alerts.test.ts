// Low-balance alerts (failure mode 34): one balance.low per threshold crossed, re-armed only by
// a balance.recovered on the way back; stored in the transaction of the movement and delivered
// by a BullMQ job, signed Billing-Gates-Signature, retried with backoff until the receiver
// answers 2xx (this one fails twice first).
import express from 'express';
import request from 'supertest';
import { listenLocal, type Listening } from '../../sandbox/listen';
import { billCall } from '../../shared/calls/call-billing';
import { verifySignatureHeader } from '../../shared/timestamped-hmac';
import { eventually } from '../support/eventually';
import { createStripeWorld, type StripeWorld } from '../support/stripe';

let w: StripeWorld;
let receiver: Listening;
let receiverUrl: string;
const received: Array<{ body: string; signature: string }> = [];
let failuresLeft = 2;

beforeAll(async () => {
  w = await createStripeWorld({ workers: true });
  const app = express();
  app.post('/hook', express.text({ type: '*/*' }), (req, res) => {
    if (failuresLeft > 0) {
      failuresLeft--;
      res.status(500).end();
      return;
    }
    received.push({ body: String(req.body), signature: req.get('billing-gates-signature') ?? '' });
    res.status(204).end();
  });
  receiver = await listenLocal(app);
  receiverUrl = `${receiver.url}/hook`;
});
afterAll(async () => {
  await receiver.close();
  await w.close();
});

it('sends exactly one balance.low per threshold over twenty debits, signed, and balance.recovered on the way back', async () => {
  const { orgId, token } = await w.org(3000);
  const put = await request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send({ thresholds: [2000, 500], webhookUrl: receiverUrl });
  expect(put.status).toBe(200);
  const secret = put.body.signingSecret as string;
  expect(secret).toMatch(/^bgs_/);
  const again = await request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send({ thresholds: [2000, 500], webhookUrl: receiverUrl });
  expect(again.body.signingSecret).toBeUndefined();

  // 3000 → 100 in twenty steps of 145.
  for (let i = 0; i < 20; i++) await w.ctx.services.store.chargeCall({ orgId, callId: `step-${orgId}-${i}`, amount: 145, reference: 'step' });
  expect(await w.balance(orgId)).toBe(100);
  await eventually(async () => received.length >= 2, { what: 'two deliveries' });
  // Back to 3000.
  const back = await w.ctx.services.wallet.credit({ orgId, amount: 2900, idempotencyKey: `back-${orgId}`, fingerprint: 'a'.repeat(64), reason: 'top-up' });
  expect(back.outcome).toBe('credited');
  await eventually(async () => received.length >= 4, { what: 'four deliveries' });
  await new Promise((r) => setTimeout(r, 500));

  const list = await request(w.ctx.app()).get('/api/wallet/events?limit=10').set('authorization', `Bearer ${token}`);
  const seen = (list.body.items as Array<{ type: string; data: { threshold: number } }>).map((e) => `${e.type}:${e.data.threshold}`).reverse();
  expect(seen).toEqual(['balance.low:2000', 'balance.low:500', 'balance.recovered:500', 'balance.recovered:2000']);
  expect(received).toHaveLength(4);
  for (const r of received) {
    expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignatureHeader(secret, r.signature, r.body)).toBe(true);
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({ type: expect.stringMatching(/^balance\./), data: { orgId, currency: 'gbp' } });
    expect(typeof body.data.available).toBe('number');
    expect(typeof body.data.threshold).toBe('number');
  }
  expect(failuresLeft).toBe(0);
});

it('refuses more than five thresholds, negative ones, and a plain-http non-loopback URL', async () => {
  const { token } = await w.org();
  const put = (body: unknown) => request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send(body as object);
  expect((await put({ thresholds: [1, 2, 3, 4, 5, 6] })).status).toBe(400);
  expect((await put({ thresholds: [-1] })).status).toBe(400);
  expect((await put({ thresholds: [1], webhookUrl: 'http://example.com/hook' })).status).toBe(400);
});

it('sends balance.low when a call admitted on the Redis path takes available below a threshold (a hold, not a charge)', async () => {
  const { orgId, token } = await w.org(1000);
  // No webhook: the event is stored (GET /api/wallet/events) whether or not it can be delivered.
  const put = await request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send({ thresholds: [950] });
  expect(put.status).toBe(200);
  const reg = await w.ctx.services.store.registerPhoneNumber({ orgId, e164: '+14155550177', vapiPhoneNumberId: `pn-alert-${orgId}`, assistantId: 'asst-1' });
  expect(reg.outcome).toBe('registered');
  // One metered slice of 112 held on the Redis path: available 888, below 950. No ledger entry.
  const decision = await w.ctx.services.calls.gate.decide(`alert-call-${orgId}`, { vapiPhoneNumberId: `pn-alert-${orgId}`, e164: null });
  expect(decision).toMatchObject({ kind: 'allowed', path: 'cache', holdAmount: 112 });
  await w.ctx.services.calls.admitted(decision);
  await eventually(
    async () => {
      const list = await request(w.ctx.app()).get('/api/wallet/events').set('authorization', `Bearer ${token}`);
      return (list.body.items as Array<{ type: string }>).some((e) => e.type === 'balance.low');
    },
    { what: 'the balance.low event' },
  );
  expect(await w.balance(orgId)).toBe(1000);
});

it('records hold batches and posts charges of the same organisations at once without a deadlock (one lock order: the wallet first)', async () => {
  const orgs = await Promise.all([0, 1, 2].map(() => w.org(100_000)));
  for (const o of orgs) {
    const put = await request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${o.token}`).send({ thresholds: [99_000, 50_000] });
    expect(put.status).toBe(200);
  }
  const now = Date.now();
  const batch = (round: number) =>
    orgs.map((o, i) => ({
      call_id: `lock-${round}-${i}-${o.orgId}`,
      org_id: o.orgId,
      amount: 500,
      max_duration_seconds: 600,
      expires_at_ms: now + 900_000,
      admitted_at_ms: now,
      cap: 500,
      held_seconds: 535,
      slices: 1,
      policy: 'metered' as const,
    }));
  // Batches name the organisations in both orders; charges lock one wallet each, concurrently.
  const work: Array<Promise<unknown>> = [];
  for (let round = 0; round < 15; round++) {
    const b = batch(round);
    work.push(w.ctx.services.calls.store.recordHolds(round % 2 === 0 ? b : [...b].reverse()));
    for (const o of orgs) work.push(w.ctx.services.store.chargeCall({ orgId: o.orgId, callId: `lock-charge-${round}-${o.orgId}`, amount: 100, reference: 'lock order' }));
  }
  const results = await Promise.allSettled(work);
  expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  const held = await w.ctx.pool.query<{ n: number }>("select count(*)::int n from calls where call_id like 'lock-%'");
  expect(held.rows[0]?.n).toBe(45);
});

it('sends no balance.low when a call is billed for what it held: the charge replaces the hold, never counted beside it', async () => {
  const { orgId, token } = await w.org(10_000);
  expect((await request(w.ctx.app()).put('/api/wallet/alerts').set('authorization', `Bearer ${token}`).send({ thresholds: [9_850] })).status).toBe(200);
  const pn = `pn-settle-${orgId}`;
  expect((await w.ctx.services.store.registerPhoneNumber({ orgId, e164: '+14155550166', vapiPhoneNumberId: pn, assistantId: 'asst-1' })).outcome).toBe('registered');
  const callId = `settle-alert-${orgId}`;
  const decision = await w.ctx.services.calls.gate.decide(callId, { vapiPhoneNumberId: pn, e164: null });
  expect(decision).toMatchObject({ kind: 'allowed', holdAmount: 112 }); // available 9888: above the line
  await w.ctx.services.calls.admitted(decision);
  // A 120 s call costs 112, exactly its hold: available stays 9888 once the charge replaces it.
  expect((await w.ctx.services.calls.store.recordReport({ callId, orgId, vapiPhoneNumberId: pn, e164: null, startedAt: '2026-11-30T12:00:00.000Z', endedAt: '2026-11-30T12:02:00.000Z', durationSeconds: 120, endedReason: 'customer-ended-call', source: 'webhook' })).outcome).toBe('recorded');
  expect(await billCall(w.ctx.services.calls.billing, callId, 'report')).toMatchObject({ outcome: 'charged', amount: 112 });
  const list = await request(w.ctx.app()).get('/api/wallet/events').set('authorization', `Bearer ${token}`);
  expect((list.body.items as Array<{ type: string }>).map((e) => e.type)).toEqual([]);
});
