// Proves the operators' read surfaces are closed to anyone else: /metrics answers 401 with the
// JSON error body to no credentials, a wrong bearer, the right token without "Bearer", and basic
// auth (which only Bull Board accepts); with the right bearer it serves Prometheus text. The
// counters themselves carry no organisation data that could leak across tenants.
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
});
