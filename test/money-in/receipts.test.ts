// Proves receipts (CONTRACT §12) through the real Stripe webhook path: top-ups created by the API,
// paid on the Stripe simulator, credited by its signed events. Every paid top-up gets one number
// of ONE gap-free series: 20 payments at once take R-000001 … R-000020, no gap, no duplicate
// (the counter row's lock is the guard: a max()+1 or an unlocked read would hand two payments one
// number, and the primary key would refuse the second credit); a payment whose transaction fails
// after taking a number gives it back (a Postgres sequence would burn it and leave a gap), and
// its credit rolls back with it (no paid top-up without a receipt). The receipt carries the
// amount, currency, paid time and the card; it is 404 until paid, and to another organisation.
import Stripe from 'stripe';
import request from 'supertest';
import { expectLedgerConsistent } from '../support/invariants';
import { createStripeWorld, TEST_STRIPE_WEBHOOK_SECRET, type StripeWorld } from '../support/stripe';

jest.setTimeout(60_000);

let w: StripeWorld;
const signer = new Stripe('sk_test_signer_only');

beforeAll(async () => {
  w = await createStripeWorld();
});
afterAll(async () => {
  await w.close();
});

const receipt = (token: string, topUpId: string) => request(w.ctx.app()).get(`/api/wallet/top-ups/${topUpId}/receipt`).set('authorization', `Bearer ${token}`);
const numbersIssued = async () => (await w.ctx.pool.query<{ n: string }>('select receipt_number as n from top_up_receipts order by 1')).rows.map((r) => Number(r.n));

async function pendingTopUp(token: string, amount: number): Promise<{ topUpId: string; checkoutSessionId: string }> {
  const res = await w.topUp(token, amount);
  expect(res.status).toBe(201);
  return res.body;
}

describe('receipt numbers', () => {
  it('numbers 20 concurrent payments R-000001 … R-000020, with no gap and no duplicate', async () => {
    const orgs = await Promise.all(Array.from({ length: 5 }, () => w.org()));
    const topUps = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const org = orgs[i % orgs.length]!;
        return { ...org, amount: 500 + i * 100, ...(await pendingTopUp(org.token, 500 + i * 100)) };
      }),
    );
    const paid = await Promise.all(topUps.map((t) => w.pay(t.checkoutSessionId, '4242424242424242')));
    for (const p of paid) expect(p.status).toBe(200);
    // Every event was taken at its first delivery: no payment had to be retried for its number.
    expect(w.sim.deliveries.filter((d) => d.status !== 200)).toEqual([]);
    const receipts = await Promise.all(topUps.map((t) => receipt(t.token, t.topUpId)));
    for (const [i, r] of receipts.entries()) {
      expect(r.status).toBe(200);
      const credit = await w.ctx.pool.query('select e.created_at from top_ups t join ledger_entries e on e.id = t.credit_entry_id where t.id = $1', [topUps[i]!.topUpId]);
      expect(r.body).toEqual({
        receiptNumber: expect.stringMatching(/^R-\d{6}$/),
        topUpId: topUps[i]!.topUpId,
        amount: topUps[i]!.amount,
        currency: 'gbp',
        paidAt: expect.any(String),
        card: { brand: 'visa', last4: '4242' },
      });
      expect(Date.parse(r.body.paidAt)).toBe(new Date(credit.rows[0].created_at).getTime());
    }
    const numbers = receipts.map((r) => r.body.receiptNumber as string).sort();
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => `R-${String(i + 1).padStart(6, '0')}`));
    expect(await numbersIssued()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await expectLedgerConsistent(w.ctx.pool);
  });

  it('gives a number back when the payment’s transaction fails after taking it: the next payment takes it, and the failed one the one after', async () => {
    const before = (await numbersIssued()).length;
    const { orgId, token } = await w.org();
    const failing = await pendingTopUp(token, 1500);
    const next = await pendingTopUp(token, 700);
    // Test-only fault, in this test's own database: the receipt of `failing` cannot be written,
    // so every event crediting it fails after the counter was taken, and rolls back.
    await w.ctx.pool.query(`create function test_refuse_receipt() returns trigger language plpgsql as $$ begin raise exception 'injected: receipt refused'; end $$`);
    await w.ctx.pool.query(`create trigger test_refuse_receipt before insert on top_up_receipts for each row when (new.top_up_id = '${failing.topUpId}') execute function test_refuse_receipt()`);
    try {
      await w.pay(failing.checkoutSessionId, '4242424242424242');
      const failed = w.sim.deliveries.filter((d) => d.status >= 500);
      expect(failed.length).toBeGreaterThan(0);
      // Nothing of the failed payment stayed: no credit, no receipt, the top-up still pending.
      expect(await w.balance(orgId)).toBe(0);
      expect((await receipt(token, failing.topUpId)).status).toBe(404);
      expect((await w.ctx.pool.query('select status from top_ups where id = $1', [failing.topUpId])).rows[0].status).toBe('pending');
      expect(await numbersIssued()).toHaveLength(before);
      expect((await w.pay(next.checkoutSessionId, '4242424242424242')).status).toBe(200);
    } finally {
      await w.ctx.pool.query('drop trigger test_refuse_receipt on top_up_receipts');
      await w.ctx.pool.query('drop function test_refuse_receipt()');
    }
    expect((await receipt(token, next.topUpId)).body.receiptNumber).toBe(`R-${String(before + 1).padStart(6, '0')}`);
    // Stripe retries the failed event later: the payment is credited once, with the next number.
    const completed = w.sim.events.find((e) => e.type === 'checkout.session.completed' && (e.data as { object: { id: string } }).object.id === failing.checkoutSessionId);
    const payload = JSON.stringify(completed);
    const header = signer.webhooks.generateTestHeaderString({ payload, secret: TEST_STRIPE_WEBHOOK_SECRET });
    const again = await request(w.ctx.app()).post('/api/stripe/webhook').set('content-type', 'application/json').set('stripe-signature', header).send(payload);
    expect(again.status).toBe(200);
    expect((await receipt(token, failing.topUpId)).body).toMatchObject({ receiptNumber: `R-${String(before + 2).padStart(6, '0')}`, amount: 1500, card: { brand: 'visa', last4: '4242' } });
    expect(await w.balance(orgId)).toBe(2200);
    expect(await numbersIssued()).toEqual(Array.from({ length: before + 2 }, (_, i) => i + 1));
    await expectLedgerConsistent(w.ctx.pool);
  });
});

describe('GET /api/wallet/top-ups/:topUpId/receipt', () => {
  it('is 404 until the top-up is paid, for another organisation’s top-up, and for unknown or malformed ids', async () => {
    const mine = await w.org();
    const theirs = await w.org();
    const t = await pendingTopUp(mine.token, 900);
    const notYet = await receipt(mine.token, t.topUpId);
    expect(notYet.status).toBe(404);
    expect(notYet.body).toEqual({ error: 'not_found', message: expect.stringContaining('not paid') });
    expect((await w.pay(t.checkoutSessionId, '4000000000000002')).status).toBe(402);
    expect((await receipt(mine.token, t.topUpId)).status).toBe(404);
    expect((await w.pay(t.checkoutSessionId, '4242424242424242')).status).toBe(200);
    expect((await receipt(mine.token, t.topUpId)).status).toBe(200);
    expect((await receipt(theirs.token, t.topUpId)).status).toBe(404);
    expect((await receipt(mine.token, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await receipt(mine.token, 'not-a-uuid')).status).toBe(404);
    expect((await request(w.ctx.app()).get(`/api/wallet/top-ups/${t.topUpId}/receipt`)).status).toBe(401);
  });

  it('lists the top-ups newest first with the receipt number of each paid one, paged', async () => {
    const { token } = await w.org();
    const first = await pendingTopUp(token, 600);
    const second = await pendingTopUp(token, 800);
    await w.pay(first.checkoutSessionId, '4242424242424242');
    const page1 = await request(w.ctx.app()).get('/api/wallet/top-ups?limit=1').set('authorization', `Bearer ${token}`);
    expect(page1.status).toBe(200);
    expect(page1.body.items).toEqual([expect.objectContaining({ topUpId: second.topUpId, status: 'pending', receiptNumber: null })]);
    const page2 = await request(w.ctx.app()).get(`/api/wallet/top-ups?limit=1&cursor=${page1.body.nextCursor}`).set('authorization', `Bearer ${token}`);
    const number = (await receipt(token, first.topUpId)).body.receiptNumber;
    expect(page2.body).toEqual({ items: [expect.objectContaining({ topUpId: first.topUpId, status: 'paid', amount: 600, receiptNumber: number })], nextCursor: null });
  });
});
