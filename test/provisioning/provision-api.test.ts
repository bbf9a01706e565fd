// Proves the provisioning HTTP surface against real Postgres and Redis, without workers (jobs
// stay queued): validation, 402 with nothing debited or queued, idempotent replay and 409 (failure
// modes 7, 9), concurrent duplicates debit once and 50 concurrent requests on a balance for 3
// pass exactly 3 (failure mode 1), and the
// status endpoint is scoped to the caller's organisation (failure mode 21).
import request from 'supertest';
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { authHeader, balanceOf, createProvisioningWorld, provision, status, type ProvisioningWorld } from '../support/provisioning';
import { jobIds } from '../../shared/queues/queues';

describe('POST /api/managed-telephony/provision and GET status', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({}, { workers: false });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  const requestsOf = async (orgId: string) =>
    Number((await w.ctx.pool.query('select count(*) from provisioning_requests where org_id = $1', [orgId])).rows[0].count);
  const debitsOf = async (orgId: string) =>
    Number((await w.ctx.pool.query("select count(*) from ledger_entries where org_id = $1 and kind = 'phone_number'", [orgId])).rows[0].count);

  describe('accepted', () => {
    it('debits the price, records a queued request, queues its job and reports it', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 1500);
      const res = await provision(w.ctx, orgId, 'k1', { areaCode: '415', assistantId: 'asst-9' });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'queued', statusUrl: `/api/managed-telephony/provisioning/${res.body.requestId}`, charged: 1000, currency: 'gbp', balance: 500 });
      expect(await balanceOf(w.ctx, orgId)).toBe(500);
      expect((await w.ctx.services.cache.get(orgId))?.balance).toBe(500);
      const job = await w.ctx.services.queues.provisioning.getJob(jobIds.provisioning(res.body.requestId));
      expect(job?.data).toEqual({ requestId: res.body.requestId });
      const s = await status(w.ctx, orgId, res.body.requestId);
      expect(s.status).toBe(200);
      expect(s.body).toEqual({
        requestId: res.body.requestId, status: 'queued', attempts: 0, maxAttempts: 5, areaCode: '415', phoneNumber: null, error: null,
        charged: 1000, refunded: 0, currency: 'gbp', createdAt: expect.any(String), updatedAt: expect.any(String),
      });
      const row = await w.ctx.pool.query('select country, assistant_id from provisioning_requests where id = $1', [res.body.requestId]);
      expect(row.rows[0]).toEqual({ country: 'US', assistant_id: 'asst-9' });
    });
  });

  describe('refused', () => {
    it('answers 402 with the shortfall and debits and queues nothing', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 400);
      const jobsBefore = await w.ctx.services.queues.provisioning.getJobCounts('waiting', 'delayed');
      const res = await provision(w.ctx, orgId, 'poor', { areaCode: '415' });
      expect(res.status).toBe(402);
      expect(res.body).toEqual({ error: 'insufficient_funds', message: expect.any(String), currency: 'gbp', balance: 400, required: 1000, shortfall: 600 });
      expect(await balanceOf(w.ctx, orgId)).toBe(400);
      expect(await requestsOf(orgId)).toBe(0);
      expect(await w.ctx.services.queues.provisioning.getJobCounts('waiting', 'delayed')).toEqual(jobsBefore);
      expect(await debitsOf(orgId)).toBe(0);
    });

    it.each([
      ['a missing area code', {}],
      ['a two-digit area code', { areaCode: '41' }],
      ['a numeric area code', { areaCode: 415 }],
      ['a lower-case country', { areaCode: '415', country: 'us' }],
      ['an unknown field', { areaCode: '415', price: 1 }],
      ['an empty assistant id', { areaCode: '415', assistantId: '' }],
    ])('answers 400 invalid_request for %s and changes nothing', async (_label, body) => {
      const orgId = await createFundedOrg(w.ctx.services, 5000);
      const res = await provision(w.ctx, orgId, 'bad-input', body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', message: expect.any(String) });
      expect(await balanceOf(w.ctx, orgId)).toBe(5000);
      expect(await requestsOf(orgId)).toBe(0);
    });

    it('requires the Idempotency-Key header', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 5000);
      const res = await request(w.ctx.app()).post('/api/managed-telephony/provision').set(await authHeader(orgId)).send({ areaCode: '415' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(await balanceOf(w.ctx, orgId)).toBe(5000);
    });

    it('refuses a missing token with 401 and a token without an org with 403', async () => {
      const none = await request(w.ctx.app()).post('/api/managed-telephony/provision').set('Idempotency-Key', 'x').send({ areaCode: '415' });
      expect(none.status).toBe(401);
      const noOrg = await dashboardToken('test-jwt-secret-0123456789abcdef0123456789', undefined);
      const forbidden = await request(w.ctx.app()).get('/api/managed-telephony/provisioning/00000000-0000-4000-8000-000000000000').set('Authorization', `Bearer ${noOrg}`);
      expect(forbidden.status).toBe(403);
    });
  });

  describe('idempotency', () => {
    it('replays the first 202 for the same key and body, and refuses another body with 409', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 5000);
      const first = await provision(w.ctx, orgId, 'same', { areaCode: '415' });
      const again = await provision(w.ctx, orgId, 'same', { areaCode: '415', country: 'US' });
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      const other = await provision(w.ctx, orgId, 'same', { areaCode: '212' });
      expect(other.status).toBe(409);
      expect(other.body).toEqual({ error: 'idempotency_key_reused', message: expect.any(String) });
      expect(await balanceOf(w.ctx, orgId)).toBe(4000);
      expect(await debitsOf(orgId)).toBe(1);
    });

    it('replays a first 402 even after a top-up, because the first outcome is what a key means', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 100);
      const first = await provision(w.ctx, orgId, 'poor-then-rich', { areaCode: '415' });
      expect(first.status).toBe(402);
      await w.ctx.services.wallet.credit({ orgId, amount: 5000, idempotencyKey: 'topup-later', fingerprint: 'a'.repeat(64), reason: 'top-up' });
      const again = await provision(w.ctx, orgId, 'poor-then-rich', { areaCode: '415' });
      expect(again.status).toBe(402);
      expect(again.body).toEqual(first.body);
      const fresh = await provision(w.ctx, orgId, 'new-key', { areaCode: '415' });
      expect(fresh.status).toBe(202);
      expect(await debitsOf(orgId)).toBe(1);
    });

    it('debits once when ten identical requests with one key arrive at once', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 5000);
      const all = await Promise.all(Array.from({ length: 10 }, () => provision(w.ctx, orgId, 'double-click', { areaCode: '415' })));
      expect(all.map((r) => r.status)).toEqual(Array(10).fill(202));
      expect(new Set(all.map((r) => r.body.requestId)).size).toBe(1);
      expect(await debitsOf(orgId)).toBe(1);
      expect(await requestsOf(orgId)).toBe(1);
      expect(await balanceOf(w.ctx, orgId)).toBe(4000);
    });
  });

  describe('concurrency (failure mode 1)', () => {
    it('passes exactly three of 50 concurrent provisions on a balance covering three; the balance ends at 0', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 3000);
      const all = await Promise.all(Array.from({ length: 50 }, (_, i) => provision(w.ctx, orgId, `burst-${i}`, { areaCode: '415' })));
      const codes = all.map((r) => r.status);
      expect(codes.filter((c) => c === 202)).toHaveLength(3);
      expect(codes.filter((c) => c === 402)).toHaveLength(47);
      expect(await balanceOf(w.ctx, orgId)).toBe(0);
      const min = await w.ctx.pool.query('select min(balance_after) as m from ledger_entries where org_id = $1', [orgId]);
      expect(Number(min.rows[0].m)).toBeGreaterThanOrEqual(0);
      expect(await requestsOf(orgId)).toBe(3);
    });
  });

  describe('status scoping (failure mode 21)', () => {
    it('answers 404 for another organisation’s request, an unknown id and a malformed id alike', async () => {
      const owner = await createFundedOrg(w.ctx.services, 1000);
      const other = await createFundedOrg(w.ctx.services, 0, 'Other');
      const res = await provision(w.ctx, owner, 'mine', { areaCode: '415' });
      for (const id of [res.body.requestId as string, '6c1d7e2b-4a4c-4e9f-8001-23456789abcd', 'not-a-uuid', "1' or '1'='1"]) {
        const s = await status(w.ctx, other, encodeURIComponent(id));
        expect(s.status).toBe(404);
        expect(s.body).toEqual({ error: 'not_found', message: expect.any(String) });
      }
      expect((await status(w.ctx, owner, res.body.requestId)).status).toBe(200);
    });
  });
});
