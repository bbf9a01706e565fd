// Proves the operators' and dashboard wallet endpoints over HTTP against real Postgres and Redis:
// top-ups are idempotent on the client's key (failure modes 7, 9), bad input changes nothing
// (3), and every read is scoped to the caller's organisation (21).
import request from 'supertest';
import { createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken, unsignedToken } from '../support/jwt';

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('admin and wallet endpoints', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  async function newOrg(name = 'Acme'): Promise<string> {
    const res = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name });
    expect(res.status).toBe(201);
    return res.body.orgId as string;
  }
  const credit = (orgId: string, key: string | undefined, body: unknown) => {
    const r = request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin);
    if (key !== undefined) r.set('Idempotency-Key', key);
    return r.send(body as object);
  };
  const entryCount = async (orgId: string) =>
    Number((await ctx.pool.query('select count(*) from ledger_entries where org_id = $1', [orgId])).rows[0].count);

  describe('happy path', () => {
    it('creates an organisation, credits it, and shows the balance and the entry', async () => {
      const orgId = await newOrg();
      const c = await credit(orgId, 'topup-1', { amount: 2500, reason: 'first top-up' });
      expect(c.status).toBe(201);
      expect(c.body).toEqual({ entryId: expect.any(Number), balance: 2500, currency: 'gbp' });

      const token = await dashboardToken(TEST_JWT_SECRET, orgId);
      const w = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
      expect(w.status).toBe(200);
      expect(w.body).toEqual({ orgId, currency: 'gbp', balance: 2500, available: 2500, frozen: false, frozenReason: null, updatedAt: expect.any(String) });

      const t = await request(ctx.app()).get('/api/wallet/transactions').set('Authorization', `Bearer ${token}`);
      expect(t.status).toBe(200);
      expect(t.body.items).toEqual([
        { id: c.body.entryId, kind: 'topup', amount: 2500, balanceBefore: 0, balanceAfter: 2500, reference: 'first top-up', createdAt: expect.any(String) },
      ]);
      expect(t.body.nextCursor).toBeNull();
    });

    it('adopts a given organisation id and refuses it twice', async () => {
      const orgId = '3f6c1d7e-2b4a-4c8e-9f10-0123456789ab';
      const a = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Adopted', orgId });
      expect(a.status).toBe(201);
      expect(a.body).toEqual({ orgId });
      const b = await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Adopted', orgId });
      expect(b.status).toBe(409);
      expect(b.body.error).toBe('conflict');
    });

    it('pages transactions newest first with a cursor', async () => {
      const orgId = await newOrg();
      for (let i = 1; i <= 5; i++) expect((await credit(orgId, `p${i}`, { amount: i, reason: `r${i}` })).status).toBe(201);
      const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
      const p1 = await request(ctx.app()).get('/api/wallet/transactions?limit=2').set(auth);
      expect(p1.body.items.map((e: { amount: number }) => e.amount)).toEqual([5, 4]);
      const p2 = await request(ctx.app()).get(`/api/wallet/transactions?limit=2&cursor=${p1.body.nextCursor}`).set(auth);
      expect(p2.body.items.map((e: { amount: number }) => e.amount)).toEqual([3, 2]);
      const p3 = await request(ctx.app()).get(`/api/wallet/transactions?limit=2&cursor=${p2.body.nextCursor}`).set(auth);
      expect(p3.body.items.map((e: { amount: number }) => e.amount)).toEqual([1]);
      expect(p3.body.nextCursor).toBeNull();
    });
  });

  describe('idempotency', () => {
    it('returns the first response for a replayed key and records one entry', async () => {
      const orgId = await newOrg();
      const first = await credit(orgId, 'same', { amount: 700, reason: 'x' });
      await credit(orgId, 'other', { amount: 1, reason: 'y' });
      const again = await credit(orgId, 'same', { amount: 700, reason: 'x' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(await entryCount(orgId)).toBe(2);
    });

    it('applies one effect for 25 concurrent requests with one key', async () => {
      const orgId = await newOrg();
      const rs = await Promise.all(Array.from({ length: 25 }, () => credit(orgId, 'burst', { amount: 300, reason: 'x' })));
      expect(new Set(rs.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(rs.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect(await entryCount(orgId)).toBe(1);
    });

    it('refuses the same key with a different body with 409 and changes nothing', async () => {
      const orgId = await newOrg();
      await credit(orgId, 'k', { amount: 100, reason: 'x' });
      const r = await credit(orgId, 'k', { amount: 1000, reason: 'x' });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ error: 'idempotency_key_reused', message: expect.any(String) });
      expect(await entryCount(orgId)).toBe(1);
    });

    it('requires a client key: no key, an empty key or an over-long key is a 400 (failure mode 7)', async () => {
      const orgId = await newOrg();
      for (const key of [undefined, 'x'.repeat(256), 'has space']) {
        const r = await credit(orgId, key, { amount: 100, reason: 'x' });
        expect(r.status).toBe(400);
        expect(r.body.error).toBe('invalid_request');
      }
      expect(await entryCount(orgId)).toBe(0);
    });
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['negative', { amount: -100, reason: 'x' }],
      ['zero', { amount: 0, reason: 'x' }],
      ['fractional', { amount: 10.5, reason: 'x' }],
      ['a string', { amount: '100', reason: 'x' }],
      ['too large', { amount: 100_000_001, reason: 'x' }],
      ['missing reason', { amount: 100 }],
      ['unknown field', { amount: 100, reason: 'x', bonus: 5 }],
      ['an array', [1, 2]],
    ])('refuses a %s credit with 400', async (_label, body) => {
      const orgId = await newOrg();
      const r = await credit(orgId, 'bad', body);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'invalid_request', message: expect.any(String) });
      expect(await entryCount(orgId)).toBe(0);
    });

    it('answers malformed JSON and huge bodies with 4xx JSON', async () => {
      const orgId = await newOrg();
      const malformed = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'm').set('Content-Type', 'application/json').send('{"amount": 1,');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toBe('invalid_request');
      const huge = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'h').send({ amount: 1, reason: 'x'.repeat(2_000_000) });
      expect(huge.status).toBe(413);
      expect(huge.body.error).toBe('payload_too_large');
      expect(await entryCount(orgId)).toBe(0);
    });

    it('answers an unknown or malformed organisation with 404', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        const r = await credit(id, 'u', { amount: 100, reason: 'x' });
        expect(r.status).toBe(404);
        expect(r.body.error).toBe('not_found');
      }
    });
  });

  describe('security', () => {
    it('refuses admin calls without the operator token', async () => {
      for (const auth of [undefined, 'Bearer wrong-token', `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`]) {
        const r = request(ctx.app()).post('/api/admin/orgs');
        if (auth) r.set('Authorization', auth);
        const res = await r.send({ name: 'x' });
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('unauthorized');
      }
    });

    it('refuses missing, malformed, expired, wrongly signed and unsigned dashboard tokens with 401', async () => {
      const orgId = await newOrg();
      const tokens = [
        undefined,
        'Bearer',
        'Bearer not.a.jwt',
        `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId, { expiresIn: '-1m' })}`,
        `Bearer ${await dashboardToken('another-secret-0123456789abcdef0123', orgId)}`,
        `Bearer ${unsignedToken(orgId)}`,
      ];
      for (const t of tokens) {
        const r = request(ctx.app()).get('/api/wallet');
        if (t) r.set('Authorization', t);
        const res = await r;
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
      }
    });

    it('answers a valid token without an organisation with 403', async () => {
      const res = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${await dashboardToken(TEST_JWT_SECRET, undefined)}`);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('forbidden');
    });

    it('shows each organisation only its own wallet and entries (failure mode 21)', async () => {
      const a = await newOrg('A');
      const b = await newOrg('B');
      await credit(a, 'a1', { amount: 111, reason: 'for A' });
      await credit(b, 'b1', { amount: 222, reason: 'for B' });
      const asB = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, b)}` };
      const w = await request(ctx.app()).get('/api/wallet').set(asB);
      expect(w.body).toMatchObject({ orgId: b, balance: 222 });
      const t = await request(ctx.app()).get('/api/wallet/transactions').set(asB);
      expect(t.body.items.map((e: { reference: string }) => e.reference)).toEqual(['for B']);
    });
  });
});
