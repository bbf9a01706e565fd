// Proves the operators' read surfaces are closed to anyone else: /metrics answers 401 with the
// JSON error body to no credentials, a wrong bearer, the right token without "Bearer", and basic
// auth (which only Bull Board accepts); with the right bearer it serves Prometheus text, whose
// counters carry no organisation ids. Bull Board (/admin/queues, page and API) answers 401 to
// anyone but the operator, who gets in by bearer or by basic auth as "admin".
import request from 'supertest';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, type TestContext } from '../support/context';

describe('operator surfaces', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  it.each([
    ['no credentials', undefined],
    ['a wrong bearer token', 'Bearer not-the-admin-token-000'],
    ['the token without the Bearer scheme', TEST_ADMIN_TOKEN],
    ['basic auth', `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('refuses /metrics with %s', async (_label, auth) => {
    const r = request(ctx.app()).get('/metrics');
    if (auth !== undefined) r.set('Authorization', auth);
    const res = await r;
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
    expect(res.text).not.toContain('billing_gates_');
  });

  it('serves Prometheus text to the operator, without organisation ids', async () => {
    const orgId = await createFundedOrg(ctx.services, 250);
    const res = await request(ctx.app()).get('/metrics').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain('billing_gates_wallet_movements_total');
    expect(res.text).not.toContain(orgId);
  });

  describe('Bull Board', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    it.each([
      ['no credentials', undefined],
      ['a wrong bearer token', 'Bearer not-the-admin-token-000'],
      ['basic auth with a wrong password', basic('admin', 'not-the-admin-token')],
      ['basic auth as another user', basic('root', TEST_ADMIN_TOKEN)],
    ])('refuses /admin/queues and its API with %s', async (_label, auth) => {
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
        const r = request(ctx.app()).get(path);
        if (auth !== undefined) r.set('Authorization', auth);
        const res = await r;
        expect([path, res.status]).toEqual([path, 401]);
        expect(res.body).toEqual({ error: 'unauthorized', message: expect.any(String) });
      }
    });

    it('opens to the operator by bearer or by basic auth as admin', async () => {
      for (const auth of [`Bearer ${TEST_ADMIN_TOKEN}`, basic('admin', TEST_ADMIN_TOKEN)]) {
        const res = await request(ctx.app()).get('/admin/queues/api/queues').set('Authorization', auth);
        expect(res.status).toBe(200);
      }
    });
  });
});
