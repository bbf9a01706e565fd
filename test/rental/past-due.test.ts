// Proves the life of a number whose wallet cannot pay its rent (CONTRACT §11), end to end with the
// real workers running (the rent schedule, the sweep queued by a clock move, the money outbox
// relay) against real Postgres, Redis and the Twilio and Vapi simulators: a wallet at zero when a
// month begins → the number is past due (event number.past_due, nothing charged, the balance never
// below zero) and Vapi's assistant-request for it is answered with a spoken refusal; a credit
// within the grace → one rent entry and active again (number.reactivated), its calls admitted;
// a past-due number places no outbound call either (403 number_past_due, nothing held);
// eight days without a credit → released at Vapi and at Twilio (neither simulator lists it),
// number.released, its calls refused as out of service, and nothing more charged.
import request from 'supertest';
import { REFUSAL_MESSAGES } from '../../shared/calls/call-gate';
import { createFundedOrg, TEST_ADMIN_TOKEN } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { authHeader, balanceOf, createProvisioningWorld, numbersNamed, vapiNumbers, type ProvisioningWorld } from '../support/provisioning';
import { advanceClock, buyNumber, DAY_SECONDS, numberRow, rentEntries, walletEventTypes, type BoughtNumber } from '../support/rental';
import { assistantRequest, postWebhook } from '../support/vapi';
import { eventually } from '../support/eventually';
import { expectConforms } from '../support/openapi';

jest.setTimeout(60_000);

describe('a rented number its wallet cannot pay', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({ MONEY_OUTBOX_POLL_MS: '50' });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  const call = (n: BoughtNumber, callId: string) => postWebhook(w.ctx.app(), assistantRequest({ vapiPhoneNumberId: n.vapiPhoneNumberId, e164: n.e164 }, callId));
  const placeCall = async (org: string, from: BoughtNumber, key: string) =>
    request(w.ctx.app())
      .post('/api/calls')
      .set(await authHeader(org))
      .set('Idempotency-Key', key)
      .send({ assistantId: from.assistantId, phoneNumberId: from.vapiPhoneNumberId, customer: { number: '+14155550123' } });
  const statusOf = async (id: string, want: string) => ((await numberRow(w.ctx, id)).status === want ? true : undefined);

  let orgId: string;
  let n: BoughtNumber;

  it('goes past due from a wallet at zero: nothing charged, and its calls are refused with a spoken sentence', async () => {
    orgId = await createFundedOrg(w.ctx.services, 1000);
    n = await buyNumber(w, orgId, 'pd-1');
    expect(await balanceOf(w.ctx, orgId)).toBe(0);

    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    await eventually(() => statusOf(n.numberId, 'past_due'));
    expect(await rentEntries(w.ctx, orgId)).toEqual([]);
    expect(await balanceOf(w.ctx, orgId)).toBe(0);
    expect(await walletEventTypes(w.ctx, orgId)).toContain('number.past_due');

    const refused = await call(n, 'pd-call-1');
    expect(refused.status).toBe(200);
    expect(refused.body).toEqual({ error: REFUSAL_MESSAGES.number_past_due });

    // Nor does it place calls (POST /api/calls): refused before anything is held or Vapi is asked.
    const outbound = expectConforms('post', '/api/calls', await placeCall(orgId, n, 'pd-out-1'));
    expect(outbound.status).toBe(403);
    expect(outbound.body).toMatchObject({ error: 'number_past_due', phoneNumberId: n.numberId });
    const held = await w.ctx.pool.query('select count(*)::int as calls from calls where org_id = $1', [orgId]);
    expect(held.rows[0].calls).toBe(0);
    expect(await balanceOf(w.ctx, orgId)).toBe(0);

    const listed = await request(w.ctx.app()).get('/api/numbers').set(await authHeader(orgId));
    expect(listed.status).toBe(200);
    const row = await numberRow(w.ctx, n.numberId);
    expect(listed.body.items).toEqual([
      {
        id: n.numberId,
        phoneNumber: n.e164,
        status: 'past_due',
        monthlyPrice: 1000,
        currency: 'gbp',
        paidUntil: expect.any(String),
        nextChargeAt: expect.any(String),
        releaseAt: expect.any(String),
      },
    ]);
    const item = listed.body.items[0] as { paidUntil: string; releaseAt: string };
    expect(new Date(item.paidUntil).getTime()).toBe(row.paid_until!.getTime());
    expect(new Date(item.releaseAt).getTime()).toBe(row.past_due_since!.getTime() + 7 * DAY_SECONDS * 1000);
  });

  it('is charged once and active again when a credit lands within the grace, and takes calls', async () => {
    await advanceClock(w.ctx, 3 * DAY_SECONDS);
    const credit = await request(w.ctx.app())
      .post(`/api/admin/orgs/${orgId}/credits`)
      .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
      .set('Idempotency-Key', 'pd-credit-1')
      .send({ amount: 2000, reason: 'top-up within the grace' });
    expect(credit.status).toBe(201);
    // ledger_post's retry_rent row → the outbox relay → the rentals queue → the rent worker.
    await eventually(() => statusOf(n.numberId, 'active'));
    const entries = await rentEntries(w.ctx, orgId);
    expect(entries.map((e) => [e.amount, e.reference])).toEqual([[-1000, n.e164]]);
    expect(await balanceOf(w.ctx, orgId)).toBe(1000);
    expect(await walletEventTypes(w.ctx, orgId)).toEqual(expect.arrayContaining(['number.past_due', 'number.reactivated']));
    // The gate forgets the cached status: within the process's 2 s memory window at most.
    const admitted = await eventually(async () => {
      const r = await call(n, `pd-call-${Date.now()}`);
      return r.body.assistantId === n.assistantId ? r : undefined;
    }, { timeoutMs: 5000 });
    expect(admitted.body.assistantOverrides.metadata).toEqual({ orgId });
    // And its outbound calls pass the gate again: admitted and sent to Vapi (this world's Vapi
    // simulator knows numbers, not calls, so Vapi's 404 comes back as call_not_placed, uncharged).
    const outbound = expectConforms('post', '/api/calls', await placeCall(orgId, n, 'pd-out-2'));
    expect(outbound.body).toMatchObject({ error: 'call_not_placed', vapiStatus: 404 });
    expect(await balanceOf(w.ctx, orgId)).toBe(1000);
  });

  it('is released at Vapi and Twilio once the grace is over without payment, and never charged again', async () => {
    const poor = await createFundedOrg(w.ctx.services, 1000, 'Poor');
    const lost = await buyNumber(w, poor, 'pd-2');
    expect((await numbersNamed(w.twilio, lost.requestId)).map((x) => x.sid)).toEqual([lost.twilioSid]);
    expect((await vapiNumbers(w.vapi)).map((x) => x.id)).toContain(lost.vapiPhoneNumberId);

    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    await eventually(() => statusOf(lost.numberId, 'past_due'));
    await advanceClock(w.ctx, 8 * DAY_SECONDS);
    await eventually(() => statusOf(lost.numberId, 'released'));

    expect(await numbersNamed(w.twilio, lost.requestId)).toEqual([]);
    expect((await vapiNumbers(w.vapi)).filter((x) => x.id === lost.vapiPhoneNumberId || x.number === lost.e164)).toEqual([]);
    expect(await numberRow(w.ctx, lost.numberId)).toMatchObject({ status: 'released', release_reason: 'unpaid', released_at: expect.any(Date) });
    expect(await walletEventTypes(w.ctx, poor)).toEqual(expect.arrayContaining(['number.past_due', 'number.released']));
    const gone = await eventually(async () => {
      const r = await call(lost, `pd-gone-${Date.now()}`);
      return r.body.error === REFUSAL_MESSAGES.unknown_number ? r : undefined;
    }, { timeoutMs: 5000 });
    expect(gone.status).toBe(200);

    // Money arriving later changes nothing for it: no rent, no revival.
    await request(w.ctx.app()).post(`/api/admin/orgs/${poor}/credits`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).set('Idempotency-Key', 'pd-late').send({ amount: 5000, reason: 'late' });
    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    await new Promise((r) => setTimeout(r, 500));
    expect(await rentEntries(w.ctx, poor)).toEqual([]);
    expect(await balanceOf(w.ctx, poor)).toBe(5000);
    const listed = await request(w.ctx.app()).get('/api/numbers').set(await authHeader(poor));
    expect(listed.body.items).toEqual([expect.objectContaining({ id: lost.numberId, status: 'released', nextChargeAt: null, releaseAt: null })]);
  });
});
