// Proves the call gate's decisions over HTTP against real Postgres and Redis: who is allowed,
// with which maxDurationSeconds, and the spoken refusals (always HTTP 200). The organisation is
// found by the called number, never the assistant id (failure mode 15); a repeated request for
// one call is answered the same with one hold; a top-up is seen by the very next request.
import request from 'supertest';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { eventually } from '../support/eventually';
import { assistantRequest, gateCount, postWebhook, registerNumber } from '../support/vapi';

describe('assistant-request decisions', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const heldRows = async (orgId: string) =>
    Number((await ctx.pool.query("select count(*) from calls where org_id = $1 and hold_state = 'held'", [orgId])).rows[0].count);

  it('refuses a call on a zero balance with a spoken sentence and HTTP 200', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    const num = await registerNumber(ctx.services, orgId);
    const res = await postWebhook(ctx.app(), assistantRequest(num));
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(res.body.error).toMatch(/credit/);
    expect(await gateCount(ctx.services, 'refused_insufficient_funds', 'cache')).toBeGreaterThanOrEqual(1);
  });

  it('allows a call on a balance of 1000 with maxDurationSeconds floor(1000×60÷56) − 5 = 1066', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const res = await postWebhook(ctx.app(), assistantRequest(num));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ assistantId: num.assistantId, assistantOverrides: { maxDurationSeconds: 1066, metadata: { orgId } } });
  });

  it('holds one slice of a metered call and shows it in GET /api/wallet as not available', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const res = await postWebhook(ctx.app(), assistantRequest(num));
    expect(res.body.assistantOverrides.maxDurationSeconds).toBe(1066);
    // One slice: ceil(120 × 56 ÷ 60) = 112 held; 888 left.
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const w = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
    expect(w.body).toMatchObject({ balance: 1000, available: 888 });
  });

  it('refuses an unknown number with a spoken sentence', async () => {
    const res = await postWebhook(ctx.app(), assistantRequest({ vapiPhoneNumberId: 'pn-nobody', e164: '+14155559999' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ error: expect.stringMatching(/not in service/) });
  });

  it('refuses a number that has no assistant configured', async () => {
    const orgId = await createFundedOrg(ctx.services, 5000);
    await ctx.pool.query("insert into phone_numbers (org_id, e164, vapi_phone_number_id, source) values ($1, '+14155550123', 'pn-bare', 'registered')", [orgId]);
    const res = await postWebhook(ctx.app(), assistantRequest({ vapiPhoneNumberId: 'pn-bare', e164: '+14155550123' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ error: expect.stringMatching(/not set up/) });
    expect(await heldRows(orgId)).toBe(0);
  });

  it('finds the organisation by the called number alone, whatever assistant Vapi names (failure mode 15)', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const body = assistantRequest(num) as { message: Record<string, unknown> };
    // No phone-number ids at all, and an assistant id we have never seen: only the number decides.
    body.message.call = { id: 'call-by-number', assistantId: 'asst-unrelated' };
    body.message.phoneNumber = { number: num.e164 };
    const res = await postWebhook(ctx.app(), body);
    expect(res.body).toEqual({ assistantId: num.assistantId, assistantOverrides: { maxDurationSeconds: 1066, metadata: { orgId } } });
  });

  it('answers a repeated assistant-request for one call the same, with one hold', async () => {
    const orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    const body = assistantRequest(num, 'call-repeated');
    const first = await postWebhook(ctx.app(), body);
    const again = await Promise.all([postWebhook(ctx.app(), body), postWebhook(ctx.app(), body)]);
    for (const r of again) expect(r.body).toEqual(first.body);
    expect(first.body.assistantOverrides.maxDurationSeconds).toBe(43_200);
    const holds = await ctx.services.redis.hgetall(ctx.services.keys.holds(orgId));
    expect(Object.keys(holds)).toEqual(['call-repeated']);
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const w = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
    // One hold of one slice, ceil(120 × 56 ÷ 60) = 112.
    expect(w.body).toMatchObject({ balance: 100_000, available: 100_000 - 112 });
  });

  it('decides the very next call on a top-up made just before it', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    const num = await registerNumber(ctx.services, orgId);
    // Fill the cache with the zero balance first, so a stale cache would refuse.
    expect((await postWebhook(ctx.app(), assistantRequest(num))).body.error).toBeDefined();
    const topup = await request(ctx.app())
      .post(`/api/admin/orgs/${orgId}/credits`)
      .set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)
      .set('Idempotency-Key', `topup-${orgId}`)
      .send({ amount: 1000, reason: 'top-up' });
    expect(topup.status).toBe(201);
    const res = await postWebhook(ctx.app(), assistantRequest(num));
    expect(res.body.assistantOverrides).toEqual({ maxDurationSeconds: 1066, metadata: { orgId } });
  });

  it('records every Redis-path hold durably in Postgres after answering', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await postWebhook(ctx.app(), assistantRequest(num, 'call-durable'));
    // Written right after the answer is sent, so wait for it rather than assume it.
    const rows = await eventually(async () => {
      const r = await ctx.pool.query('select hold_amount, hold_cap, held_seconds, slices, hold_policy, max_duration_seconds, admitted_path, hold_state from calls where call_id = $1', ['call-durable']);
      return r.rowCount === 1 ? r.rows : undefined;
    });
    expect(rows).toEqual([{ hold_amount: 112, hold_cap: 995, held_seconds: 120, slices: 1, hold_policy: 'metered', max_duration_seconds: 1066, admitted_path: 'cache', hold_state: 'held' }]);
  });
});
