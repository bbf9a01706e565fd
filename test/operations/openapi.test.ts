// Proves the OpenAPI document served at /openapi.json describes what the service really does:
// real responses of every implemented endpoint (happy, error and security outcomes) are checked
// against it — status documented, content type and JSON body valid against the schema — and the
// document names every endpoint of CONTRACT.md.
import request from 'supertest';
import { openApiDocument } from '../../api/openapi';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken, unsignedToken } from '../support/jwt';
import { checked, conformance, expectConforms } from '../support/openapi';

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('OpenAPI document', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  it('is served at /openapi.json without credentials, as OpenAPI 3.1', async () => {
    const res = expectConforms('get', '/openapi.json', await request(ctx.app()).get('/openapi.json'));
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it('names every endpoint of the contract', () => {
    const ops = Object.entries(openApiDocument.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops.sort()).toEqual(
      [
        'POST /api/managed-telephony/provision',
        'GET /api/managed-telephony/provisioning/{requestId}',
        'GET /api/wallet',
        'GET /api/wallet/transactions',
        'POST /api/wallet/top-ups',
        'GET /api/wallet/top-ups/{topUpId}',
        'GET /api/wallet/auto-recharge',
        'PUT /api/wallet/auto-recharge',
        'PUT /api/wallet/alerts',
        'GET /api/wallet/events',
        'GET /api/wallet/top-ups',
        'GET /api/wallet/top-ups/{topUpId}/receipt',
        'GET /api/wallet/usage',
        'GET /api/wallet/statement',
        'GET /api/calls',
        'POST /api/stripe/webhook',
        'POST /api/vapi/webhook',
        'POST /api/admin/orgs',
        'POST /api/admin/orgs/{orgId}/credits',
        'GET /api/admin/orgs/{orgId}/limits',
        'PUT /api/admin/orgs/{orgId}/limits',
        'POST /api/admin/orgs/{orgId}/freeze',
        'POST /api/admin/orgs/{orgId}/unfreeze',
        'POST /api/admin/phone-numbers',
        'POST /api/calls',
        'GET /api/rates',
        'GET /api/admin/rates',
        'PUT /api/admin/rates',
        'GET /api/admin/orgs/{orgId}/dialing',
        'PUT /api/admin/orgs/{orgId}/dialing',
        'GET /api/numbers',
        'DELETE /api/numbers/{id}',
        'GET /api/admin/clock',
        'POST /api/admin/clock',
        'GET /admin/queues',
        'GET /metrics',
        'GET /healthz',
        'GET /readyz',
        'GET /openapi.json',
      ].sort(),
    );
  });

  it('catches an undocumented status and a body that breaks its schema', () => {
    const fake = (status: number, body: unknown) => ({ status, body, headers: { 'content-type': 'application/json; charset=utf-8' } }) as never;
    expect(conformance('get', '/api/wallet', fake(418, {}))).toEqual([expect.stringContaining('not documented')]);
    expect(conformance('get', '/api/wallet', fake(200, { orgId: 'x', currency: 'gbp', balance: 1.5, available: 0, updatedAt: 'now' })).length).toBeGreaterThan(0);
  });

  it('matches health, readiness and metrics', async () => {
    expectConforms('get', '/healthz', await request(ctx.app()).get('/healthz'));
    expectConforms('get', '/readyz', await request(ctx.app()).get('/readyz'));
    expectConforms('get', '/metrics', await request(ctx.app()).get('/metrics').set(admin));
    expectConforms('get', '/metrics', await request(ctx.app()).get('/metrics'));
    expectConforms('get', '/admin/queues', await request(ctx.app()).get('/admin/queues').set(admin));
    expectConforms('get', '/admin/queues', await request(ctx.app()).get('/admin/queues'));
  });

  it('matches the operators\' endpoints in every outcome', async () => {
    const app = ctx.app();
    const created = expectConforms('post', '/api/admin/orgs', await request(app).post('/api/admin/orgs').set(admin).send({ name: 'Spec Ltd' }));
    expect(created.status).toBe(201);
    const orgId = created.body.orgId as string;
    expectConforms('post', '/api/admin/orgs', await request(app).post('/api/admin/orgs').set(admin).send({ name: 'Again', orgId }));
    expectConforms('post', '/api/admin/orgs', await request(app).post('/api/admin/orgs').set(admin).send({ name: '' }));
    expectConforms('post', '/api/admin/orgs', await request(app).post('/api/admin/orgs').send({ name: 'x' }));

    const credits = '/api/admin/orgs/{orgId}/credits';
    const credit = (id: string, key: string | undefined, body: object) => {
      const r = request(app).post(`/api/admin/orgs/${id}/credits`).set(admin);
      if (key) r.set('Idempotency-Key', key);
      return r.send(body);
    };
    expect(expectConforms('post', credits, await credit(orgId, 'k1', { amount: 1000, reason: 'spec' })).status).toBe(201);
    expect(expectConforms('post', credits, await credit(orgId, 'k1', { amount: 1000, reason: 'spec' })).status).toBe(201);
    expect(expectConforms('post', credits, await credit(orgId, 'k1', { amount: 999, reason: 'spec' })).status).toBe(409);
    expect(expectConforms('post', credits, await credit(orgId, undefined, { amount: 1, reason: 'spec' })).status).toBe(400);
    expect(expectConforms('post', credits, await credit(orgId, 'k2', { amount: 1.5, reason: 'spec' })).status).toBe(400);
    expect(expectConforms('post', credits, await credit('7d0c6f2e-0000-4000-8000-000000000000', 'k3', { amount: 1, reason: 'spec' })).status).toBe(404);

    const numbers = '/api/admin/phone-numbers';
    const number = { orgId, phoneNumber: '+14155550199', vapiPhoneNumberId: 'pn-spec-1', assistantId: 'asst-spec' };
    expect(expectConforms('post', numbers, await request(app).post(numbers).set(admin).send(number)).status).toBe(201);
    expect(expectConforms('post', numbers, await request(app).post(numbers).set(admin).send(number)).status).toBe(409);
    expect(expectConforms('post', numbers, await request(app).post(numbers).set(admin).send({ ...number, phoneNumber: '555' })).status).toBe(400);
    const stranger = { ...number, orgId: '7d0c6f2e-0000-4000-8000-000000000001', phoneNumber: '+14155550198', vapiPhoneNumberId: 'pn-spec-2' };
    expect(expectConforms('post', numbers, await request(app).post(numbers).set(admin).send(stranger)).status).toBe(404);
  });

  it('matches the dashboard wallet endpoints in every outcome', async () => {
    const app = ctx.app();
    const orgId = (await request(app).post('/api/admin/orgs').set(admin).send({ name: 'Wallet Spec' })).body.orgId as string;
    await request(app).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'w1').send({ amount: 300, reason: 'a' });
    await request(app).post(`/api/admin/orgs/${orgId}/credits`).set(admin).set('Idempotency-Key', 'w2').send({ amount: 200, reason: 'b' });
    const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
    expect(expectConforms('get', '/api/wallet', await request(app).get('/api/wallet').set(auth)).status).toBe(200);
    expect(expectConforms('get', '/api/wallet', await request(app).get('/api/wallet')).status).toBe(401);
    expect(expectConforms('get', '/api/wallet', await request(app).get('/api/wallet').set('Authorization', `Bearer ${unsignedToken(orgId)}`)).status).toBe(401);
    const noOrg = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, undefined)}` };
    expect(expectConforms('get', '/api/wallet', await request(app).get('/api/wallet').set(noOrg)).status).toBe(403);

    const tx = '/api/wallet/transactions';
    const page = expectConforms('get', tx, await request(app).get(`${tx}?limit=1`).set(auth));
    expect(page.status).toBe(200);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    expect(expectConforms('get', tx, await request(app).get(`${tx}?limit=1&cursor=${page.body.nextCursor}`).set(auth)).body.nextCursor).toBeNull();
    expect(expectConforms('get', tx, await request(app).get(`${tx}?limit=0`).set(auth)).status).toBe(400);
    expect(expectConforms('get', tx, await request(app).get(tx)).status).toBe(401);
  });

  it('matches usage, statements, the calls list and receipts in every outcome (CONTRACT §12)', async () => {
    const app = ctx.app();
    const orgId = await createFundedOrg(ctx.services, 5000, 'Usage Spec');
    const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
    const number = { orgId, phoneNumber: '+14155550166', vapiPhoneNumberId: 'pn-spec-usage', assistantId: 'asst-usage' };
    expect((await request(app).post('/api/admin/phone-numbers').set(admin).send(number)).status).toBe(201);
    const vapi = { 'x-vapi-secret': TEST_VAPI_SECRET };
    await request(app).post('/api/vapi/webhook').set(vapi).send({ message: { type: 'assistant-request', call: { id: 'spec-usage-1', customer: { number: '+447700900000' } }, phoneNumber: { number: number.phoneNumber } } });
    const today = new Date().toISOString().slice(0, 10);
    const usage = '/api/wallet/usage';
    expect(expectConforms('get', usage, await request(app).get(`${usage}?from=${today}&to=${today}`).set(auth)).body.days[0].topUps.amount).toBe(5000);
    expect(expectConforms('get', usage, await request(app).get(`${usage}?from=${today}`).set(auth)).status).toBe(400);
    expect(expectConforms('get', usage, await request(app).get(`${usage}?from=${today}&to=${today}`)).status).toBe(401);
    const statement = '/api/wallet/statement';
    const csv = expectConforms('get', statement, await request(app).get(`${statement}?month=${today.slice(0, 7)}`).set(auth));
    expect([csv.status, csv.headers['content-type']]).toEqual([200, 'text/csv; charset=utf-8']);
    expect(expectConforms('get', statement, await request(app).get(`${statement}?month=13`).set(auth)).status).toBe(400);
    const calls = '/api/calls';
    const listed = expectConforms('get', calls, await request(app).get(calls).set(auth));
    expect(listed.body.items).toEqual([expect.objectContaining({ callId: 'spec-usage-1', status: 'in_progress' })]);
    expect(expectConforms('get', calls, await request(app).get(`${calls}?cursor=!`).set(auth)).status).toBe(400);
    expect(expectConforms('get', calls, await request(app).get(calls)).status).toBe(401);
    expect(expectConforms('get', '/api/wallet/top-ups', await request(app).get('/api/wallet/top-ups').set(auth)).body).toEqual({ items: [], nextCursor: null });
    const receipt = '/api/wallet/top-ups/{topUpId}/receipt';
    expect(expectConforms('get', receipt, await request(app).get('/api/wallet/top-ups/00000000-0000-4000-8000-000000000000/receipt').set(auth)).status).toBe(404);
  });

  it('matches the numbers and billing-clock endpoints (CONTRACT §11)', async () => {
    const app = ctx.app();
    const orgId = await createFundedOrg(ctx.services, 0, 'Numbers Spec');
    const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
    // A number as a purchase leaves it, released already (the release at the providers is numbers-api.test.ts's).
    const n = await ctx.pool.query<{ id: string }>(
      `insert into phone_numbers (org_id, e164, source, status, rent_anchor, paid_months, paid_until, release_reason, released_at)
       values ($1, '+14155550142', 'provisioned', 'released', now(), 1, now() + interval '1 month', 'customer', now()) returning id`,
      [orgId],
    );
    const numberId = n.rows[0]!.id;
    const listed = expectConforms('get', '/api/numbers', await request(app).get('/api/numbers').set(auth));
    expect(listed.body.items).toHaveLength(1);
    expect(expectConforms('get', '/api/numbers', await request(app).get('/api/numbers?x=1').set(auth)).status).toBe(400);
    expect(expectConforms('get', '/api/numbers', await request(app).get('/api/numbers')).status).toBe(401);
    const del = '/api/numbers/{id}';
    expect(expectConforms('delete', del, await request(app).delete(`/api/numbers/${numberId}`).set(auth)).status).toBe(200);
    expect(expectConforms('delete', del, await request(app).delete('/api/numbers/not-a-uuid').set(auth)).status).toBe(404);
    expect(expectConforms('delete', del, await request(app).delete(`/api/numbers/${numberId}`)).status).toBe(401);

    const clock = '/api/admin/clock';
    expect(expectConforms('get', clock, await request(app).get(clock).set(admin)).status).toBe(200);
    expect(expectConforms('get', clock, await request(app).get(clock)).status).toBe(401);
    expect(expectConforms('post', clock, await request(app).post(clock).set(admin).send({ advanceSeconds: 60 })).status).toBe(200);
    expect(expectConforms('post', clock, await request(app).post(clock).set(admin).send({ advanceSeconds: 0 })).status).toBe(400);
    expect(expectConforms('post', clock, await request(app).post(clock).send({ advanceSeconds: 60 })).status).toBe(401);
  });

  it('matches the Vapi webhook: 401, allowed, refused, and acknowledged', async () => {
    const app = ctx.app();
    const hook = '/api/vapi/webhook';
    const vapi = { 'x-vapi-secret': TEST_VAPI_SECRET };
    const orgId = await createFundedOrg(ctx.services, 5000, 'Webhook Spec');
    const number = { orgId, phoneNumber: '+14155550177', vapiPhoneNumberId: 'pn-spec-hook', assistantId: 'asst-hook' };
    expect((await request(app).post('/api/admin/phone-numbers').set(admin).send(number)).status).toBe(201);
    const ask = (callId: string, e164: string) => ({ message: { type: 'assistant-request', call: { id: callId }, phoneNumber: { number: e164 } } });

    expect(expectConforms('post', hook, await request(app).post(hook).send(ask('c0', number.phoneNumber))).status).toBe(401);
    const allowed = expectConforms('post', hook, await request(app).post(hook).set(vapi).send(ask('spec-call-1', number.phoneNumber)));
    expect(allowed.status).toBe(200);
    expect(allowed.body.assistantId).toBe('asst-hook');
    const refused = expectConforms('post', hook, await request(app).post(hook).set(vapi).send(ask('spec-call-2', '+14155550000')));
    expect(refused.status).toBe(200);
    expect(refused.body.error).toEqual(expect.any(String));
    const ended = { message: { type: 'end-of-call-report', call: { id: 'spec-call-1' }, phoneNumber: { number: number.phoneNumber }, startedAt: '2026-01-01T10:00:00.000Z', endedAt: '2026-01-01T10:00:10.000Z' } };
    expect(expectConforms('post', hook, await request(app).post(hook).set(vapi).send(ended)).status).toBe(200);
    expect(expectConforms('post', hook, await request(app).post(hook).set(vapi).send({ message: { type: 'transcript' } })).body).toEqual({ received: true });
  });

  it('matches the provisioning endpoints: 202, replay, 402, 400, 409, 401, 403, status 200 and 404', async () => {
    const app = ctx.app();
    const provision = '/api/managed-telephony/provision';
    const status = '/api/managed-telephony/provisioning/{requestId}';
    const poor = await createFundedOrg(ctx.services, 0, 'Poor Spec');
    const rich = await createFundedOrg(ctx.services, 5000, 'Rich Spec');
    const as = async (orgId: string) => ({ Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` });
    const body = { areaCode: '415', assistantId: 'asst-spec' };
    const post = async (orgId: string | undefined, key: string | undefined, b: object) => {
      const r = request(app).post(provision);
      if (orgId !== undefined) r.set(await as(orgId));
      if (key !== undefined) r.set('Idempotency-Key', key);
      return r.send(b);
    };
    expect(expectConforms('post', provision, await post(poor, 'p-402', body)).status).toBe(402);
    const accepted = expectConforms('post', provision, await post(rich, 'p-1', body));
    expect(accepted.status).toBe(202);
    expect(expectConforms('post', provision, await post(rich, 'p-1', body)).body).toEqual(accepted.body);
    expect(expectConforms('post', provision, await post(rich, 'p-1', { ...body, areaCode: '212' })).status).toBe(409);
    expect(expectConforms('post', provision, await post(rich, undefined, body)).status).toBe(400);
    expect(expectConforms('post', provision, await post(rich, 'p-2', { areaCode: '41' })).status).toBe(400);
    expect(expectConforms('post', provision, await post(undefined, 'p-3', body)).status).toBe(401);
    const noOrg = await request(app).post(provision).set('Authorization', `Bearer ${await dashboardToken(TEST_JWT_SECRET, undefined)}`).set('Idempotency-Key', 'p-4').send(body);
    expect(expectConforms('post', provision, noOrg).status).toBe(403);

    const id = accepted.body.requestId as string;
    const got = expectConforms('get', status, await request(app).get(`/api/managed-telephony/provisioning/${id}`).set(await as(rich)));
    expect(got.status).toBe(200);
    expect(got.body.requestId).toBe(id);
    expect(expectConforms('get', status, await request(app).get(`/api/managed-telephony/provisioning/${id}`).set(await as(poor))).status).toBe(404);
    expect(expectConforms('get', status, await request(app).get('/api/managed-telephony/provisioning/not-a-uuid').set(await as(rich))).status).toBe(404);
    expect(expectConforms('get', status, await request(app).get(`/api/managed-telephony/provisioning/${id}`)).status).toBe(401);
  });

  it('matches the spend-control endpoints and the purchase refusals they cause', async () => {
    const app = ctx.app();
    const orgId = await createFundedOrg(ctx.services, 5000, 'Limits Spec');
    const limits = '/api/admin/orgs/{orgId}/limits';
    expect(expectConforms('get', limits, await request(app).get(`/api/admin/orgs/${orgId}/limits`).set(admin)).status).toBe(200);
    expect(expectConforms('put', limits, await request(app).put(`/api/admin/orgs/${orgId}/limits`).set(admin).send({ maxNumbersPerDay: 0 })).status).toBe(200);
    expect(expectConforms('put', limits, await request(app).put(`/api/admin/orgs/${orgId}/limits`).set(admin).send({ maxNumbersPerDay: -1 })).status).toBe(400);
    expect(expectConforms('put', limits, await request(app).put(`/api/admin/orgs/${orgId}/limits`).send({})).status).toBe(401);
    expect(expectConforms('get', limits, await request(app).get('/api/admin/orgs/00000000-0000-4000-8000-000000000000/limits').set(admin)).status).toBe(404);
    const auth = { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
    const provision = '/api/managed-telephony/provision';
    const limited = expectConforms('post', provision, await request(app).post(provision).set(auth).set('Idempotency-Key', 'spec-limit').send({ areaCode: '415' }));
    expect([limited.status, limited.body.error]).toEqual([403, 'limit_reached']);
    const freeze = '/api/admin/orgs/{orgId}/freeze';
    expect(expectConforms('post', freeze, await request(app).post(`/api/admin/orgs/${orgId}/freeze`).set(admin).send({ reason: 'spec' })).status).toBe(200);
    expect(expectConforms('post', freeze, await request(app).post(`/api/admin/orgs/${orgId}/freeze`).set(admin).send({})).status).toBe(400);
    const frozen = expectConforms('post', provision, await request(app).post(provision).set(auth).set('Idempotency-Key', 'spec-frozen').send({ areaCode: '415' }));
    expect([frozen.status, frozen.body.error]).toEqual([403, 'wallet_frozen']);
    expect(expectConforms('get', '/api/wallet', await request(app).get('/api/wallet').set(auth)).body.frozen).toBe(true);
    const unfreeze = '/api/admin/orgs/{orgId}/unfreeze';
    expect(expectConforms('post', unfreeze, await request(app).post(`/api/admin/orgs/${orgId}/unfreeze`).set(admin).send({})).status).toBe(200);
    expect(expectConforms('post', unfreeze, await request(app).post(`/api/admin/orgs/${orgId}/unfreeze`).set(admin)).status).toBe(200);
  });

  it('exercised the outcomes above (runs last)', () => {
    for (const must of ['post /api/admin/orgs 201', 'post /api/admin/orgs 409', 'post /api/admin/orgs/{orgId}/credits 404', 'get /api/wallet 403', 'get /readyz 200', 'post /api/vapi/webhook 200', 'post /api/vapi/webhook 401', 'post /api/managed-telephony/provision 202', 'post /api/managed-telephony/provision 402', 'get /api/managed-telephony/provisioning/{requestId} 200', 'get /api/managed-telephony/provisioning/{requestId} 404', 'get /api/numbers 200', 'delete /api/numbers/{id} 200', 'delete /api/numbers/{id} 404', 'get /api/admin/clock 200', 'post /api/admin/clock 200', 'post /api/admin/clock 400']) {
      expect(checked).toContain(must);
    }
  });
});
