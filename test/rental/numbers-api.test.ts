// Proves the dashboard's numbers surface (CONTRACT §11) through the real app, SQL and simulators:
// GET /api/numbers lists the caller's rented numbers in the contract's shape (registered numbers,
// which pay no rent, left out; another organisation's never shown); DELETE /api/numbers/:id
// releases a number now at Vapi and then Twilio, refunds nothing of the month begun, charges
// nothing more, is idempotent, and answers 404 for a number that is not the caller's (foreign,
// unknown, malformed, registered). When Vapi fails the release waits, Twilio untouched (Vapi
// first), answered 202; the rent sweep finishes it. Bad input is a 4xx and changes nothing.
import request from 'supertest';
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken, unsignedToken } from '../support/jwt';
import { authHeader, balanceOf, createProvisioningWorld, numbersNamed, vapiNumbers, type ProvisioningWorld } from '../support/provisioning';
import { advanceClock, buyNumber, DAY_SECONDS, numberRow, rentEntries, runRentSweep, walletEventTypes } from '../support/rental';
import { TEST_JWT_SECRET } from '../support/context';
import { expectConforms } from '../support/openapi';
import { registerNumber } from '../support/vapi';

jest.setTimeout(60_000);

describe('GET /api/numbers and DELETE /api/numbers/:id', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({}, { workers: false });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  const list = async (orgId: string) => request(w.ctx.app()).get('/api/numbers').set(await authHeader(orgId));
  const release = async (orgId: string, id: string) => request(w.ctx.app()).delete(`/api/numbers/${id}`).set(await authHeader(orgId));

  it('lists the rented numbers of the caller only, newest first, in the contract\'s shape', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 10_000);
    const other = await createFundedOrg(w.ctx.services, 10_000, 'Other');
    const first = await buyNumber(w, orgId, 'list-1');
    const second = await buyNumber(w, orgId, 'list-2');
    await buyNumber(w, other, 'list-other');
    await registerNumber(w.ctx.services, orgId);
    const res = expectConforms('get', '/api/numbers', await list(orgId));
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { id: string }) => i.id)).toEqual([second.numberId, first.numberId]);
    const row = await numberRow(w.ctx, first.numberId);
    expect(res.body.items[1]).toEqual({
      id: first.numberId,
      phoneNumber: first.e164,
      status: 'active',
      monthlyPrice: 1000,
      currency: 'gbp',
      paidUntil: expect.any(String),
      nextChargeAt: expect.any(String),
      releaseAt: null,
    });
    expect(new Date(res.body.items[1].paidUntil).getTime()).toBe(row.paid_until!.getTime());
    expect(res.body.items[1].nextChargeAt).toBe(res.body.items[1].paidUntil);
    expect((await list(await createFundedOrg(w.ctx.services, 0, 'Empty'))).body).toEqual({ items: [] });
  });

  it('answers 401 without a valid token, 403 without an organisation, 400 for a query it does not take', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 0);
    expect((await request(w.ctx.app()).get('/api/numbers')).status).toBe(401);
    expect((await request(w.ctx.app()).get('/api/numbers').set('Authorization', `Bearer ${unsignedToken(orgId)}`)).status).toBe(401);
    const noOrg = `Bearer ${await dashboardToken(TEST_JWT_SECRET, undefined)}`;
    expect((await request(w.ctx.app()).get('/api/numbers').set('Authorization', noOrg)).status).toBe(403);
    expect((await request(w.ctx.app()).delete('/api/numbers/00000000-0000-4000-8000-000000000000')).status).toBe(401);
    const odd = await request(w.ctx.app()).get('/api/numbers?limit=5').set(await authHeader(orgId));
    expect([odd.status, odd.body.error]).toEqual([400, 'invalid_request']);
  });

  it('releases a number now at Vapi and Twilio, refunds nothing, charges nothing more, and says so once', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 10_000);
    const n = await buyNumber(w, orgId, 'del-1');
    const keep = await buyNumber(w, orgId, 'del-keep');
    const balance = await balanceOf(w.ctx, orgId);
    const res = expectConforms('delete', '/api/numbers/{id}', await release(orgId, n.numberId));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: n.numberId, phoneNumber: n.e164, status: 'released', nextChargeAt: null, releaseAt: null });
    expect(await numbersNamed(w.twilio, n.requestId)).toEqual([]);
    expect((await vapiNumbers(w.vapi)).filter((x) => x.id === n.vapiPhoneNumberId)).toEqual([]);
    expect(await numberRow(w.ctx, n.numberId)).toMatchObject({ status: 'released', release_reason: 'customer' });
    expect(await balanceOf(w.ctx, orgId)).toBe(balance);

    // Idempotent: the same answer, no second event, nothing touched.
    const again = await release(orgId, n.numberId);
    expect([again.status, again.body]).toEqual([200, res.body]);
    expect((await walletEventTypes(w.ctx, orgId)).filter((t) => t === 'number.released')).toHaveLength(1);

    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    await runRentSweep(w.ctx);
    expect((await rentEntries(w.ctx, orgId)).map((e) => e.reference)).toEqual([keep.e164]);
    expect((await list(orgId)).body.items.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([
      [keep.numberId, 'active'],
      [n.numberId, 'released'],
    ]);
  });

  it('answers 404 for another organisation\'s, an unknown, a malformed or a registered number, and changes nothing', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 10_000);
    const other = await createFundedOrg(w.ctx.services, 10_000, 'Other');
    const theirs = await buyNumber(w, other, 'foreign-1');
    const reg = await registerNumber(w.ctx.services, orgId);
    const regId = (await w.ctx.pool.query<{ id: string }>('select id from phone_numbers where e164 = $1', [reg.e164])).rows[0]!.id;
    for (const id of [theirs.numberId, '00000000-0000-4000-8000-000000000000', 'not-a-uuid', regId, `${theirs.numberId}x`]) {
      const res = await release(orgId, id);
      expect([id, res.status, res.body.error]).toEqual([id, 404, 'not_found']);
    }
    expect(await numberRow(w.ctx, theirs.numberId)).toMatchObject({ status: 'active' });
    expect(await numbersNamed(w.twilio, theirs.requestId)).toHaveLength(1);
  });

  it('releases at Vapi first: with Vapi failing Twilio is untouched and the answer is 202; the rent sweep finishes it', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 10_000);
    const n = await buyNumber(w, orgId, 'vapi-down');
    w.vapi.faults.failNextRequests = 1;
    const res = expectConforms('delete', '/api/numbers/{id}', await release(orgId, n.numberId));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: n.numberId, status: 'released' });
    expect(await numberRow(w.ctx, n.numberId)).toMatchObject({ status: 'releasing', release_reason: 'customer' });
    // Twilio was never asked: the number is still there, and Vapi's still points at it.
    expect(await numbersNamed(w.twilio, n.requestId)).toHaveLength(1);
    expect((await vapiNumbers(w.vapi)).map((x) => x.id)).toContain(n.vapiPhoneNumberId);
    const released = (await w.ctx.services.metrics.numberReleases.get()).values.find((v) => v.labels.reason === 'customer' && v.labels.outcome === 'failed');
    expect(released?.value).toBe(1);

    expect((await runRentSweep(w.ctx, { orgId })).released).toBe(1);
    expect(await numberRow(w.ctx, n.numberId)).toMatchObject({ status: 'released' });
    expect(await numbersNamed(w.twilio, n.requestId)).toEqual([]);
    expect((await vapiNumbers(w.vapi)).filter((x) => x.id === n.vapiPhoneNumberId)).toEqual([]);
    expect((await release(orgId, n.numberId)).status).toBe(200);
  });
});
