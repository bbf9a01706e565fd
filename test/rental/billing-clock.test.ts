// Proves the sandbox billing clock (CONTRACT §11): GET /api/admin/clock reads it and POST moves it
// forward only, within its bounds, for operators only (bad input is a 400 that moves nothing); the
// offset lives in Postgres, so another process (a second service instance) sees a move; and it is
// the clock of the daily spend: a wallet at its dailySpendLimit is refused on both gate paths (the
// Redis Lua step and the Postgres fallback) until the clock passes midnight, then admitted. Outside
// sandbox mode both paths are 404.
import request from 'supertest';
import { REFUSAL_MESSAGES } from '../../shared/calls/call-gate';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices } from '../../shared/process/services';
import { createRedis } from '../../shared/redis';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { authHeader } from '../support/provisioning';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';
import { eventually } from '../support/eventually';

jest.setTimeout(60_000);
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('the billing clock in sandbox mode', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ PHONE_NUMBER_PRICE: '1000' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const get = () => request(ctx.app()).get('/api/admin/clock').set(admin);
  const post = (body: unknown) => request(ctx.app()).post('/api/admin/clock').set(admin).send(body as object);

  it('reads the clock, moves it forward, and another process sees the move', async () => {
    const start = await get();
    expect(start.status).toBe(200);
    expect(start.body).toEqual({ now: expect.any(String), offsetSeconds: 0 });
    expect(Math.abs(new Date(start.body.now).getTime() - Date.now())).toBeLessThan(5000);

    const other = createServices(ctx.config, { log: createLogger('silent'), metrics: createMetrics(), redis: createRedis(ctx.config.redis, 'fail-fast', 'other') });
    try {
      const moved = await post({ advanceSeconds: 3600 });
      expect(moved.status).toBe(200);
      expect(moved.body.offsetSeconds).toBe(3600);
      expect(Math.abs(new Date(moved.body.now).getTime() - (Date.now() + 3_600_000))).toBeLessThan(5000);
      expect((await get()).body.offsetSeconds).toBe(3600);
      expect(ctx.services.billingClock.offsetMs()).toBe(3_600_000);
      // The other process reads Postgres on its refresh timer (BILLING_CLOCK_REFRESH_MS).
      await eventually(async () => (other.billingClock.offsetMs() === 3_600_000 ? true : undefined), { timeoutMs: 5000 });
    } finally {
      await other.close();
    }
  });

  it('refuses bad input and strangers with a 4xx, and moves nothing', async () => {
    for (const body of [{ advanceSeconds: 0 }, { advanceSeconds: -60 }, { advanceSeconds: 1.5 }, { advanceSeconds: '60' }, { advanceSeconds: 31_622_401 }, {}, { advanceSeconds: 60, extra: 1 }]) {
      const res = await post(body);
      expect([JSON.stringify(body), res.status, res.body.error]).toEqual([JSON.stringify(body), 400, 'invalid_request']);
    }
    const malformed = await request(ctx.app()).post('/api/admin/clock').set(admin).set('Content-Type', 'application/json').send('{"advanceSeconds":');
    expect(malformed.status).toBe(400);
    expect((await request(ctx.app()).post('/api/admin/clock').send({ advanceSeconds: 60 })).status).toBe(401);
    expect((await request(ctx.app()).get('/api/admin/clock')).status).toBe(401);
    const orgId = await createFundedOrg(ctx.services, 0);
    expect((await request(ctx.app()).post('/api/admin/clock').set(await authHeader(orgId)).send({ advanceSeconds: 60 })).status).toBe(401);
    expect((await get()).body.offsetSeconds).toBe(3600);
  });

  it('is the clock of the daily spend: at the limit until it passes midnight, on both gate paths', async () => {
    const orgId = await createFundedOrg(ctx.services, 20_000);
    const num = await registerNumber(ctx.services, orgId);
    expect((await request(ctx.app()).put(`/api/admin/orgs/${orgId}/limits`).set(admin).send({ dailySpendLimit: 1000 })).status).toBe(200);
    const bought = await request(ctx.app()).post('/api/managed-telephony/provision').set(await authHeader(orgId)).set('Idempotency-Key', 'spend-day').send({ areaCode: '415' });
    expect(bought.status).toBe(202); // 1000 spent today: the limit is reached
    const refused = await postWebhook(ctx.app(), assistantRequest(num, 'day-cache-1'));
    expect(refused.body).toEqual({ error: REFUSAL_MESSAGES.daily_spend_limit });
    const terms = { ratePerMinute: 56, minBalance: 79, safetyMarginSeconds: 5, holdGraceSeconds: 300, minDurationSeconds: 10, maxDurationSeconds: 43_200, policy: 'metered' as const, holdSeconds: 120 };
    expect(await ctx.services.calls.store.admit({ orgId, callId: 'day-pg-1', nowMs: Date.now(), ...terms })).toMatchObject({ outcome: 'refused', reason: 'dailySpendLimit' });

    // To one minute past the next midnight on the billing clock.
    const now = new Date((await get()).body.now as string).getTime();
    const midnight = Math.ceil(now / 86_400_000) * 86_400_000;
    expect((await post({ advanceSeconds: Math.ceil((midnight - now) / 1000) + 60 })).status).toBe(200);

    const admitted = await postWebhook(ctx.app(), assistantRequest(num, 'day-cache-2'));
    expect(admitted.body.assistantId).toBe(num.assistantId);
    expect(await ctx.services.calls.store.admit({ orgId, callId: 'day-pg-2', nowMs: Date.now(), ...terms })).toMatchObject({ outcome: 'held' });
  });

  it('runs at most ten years ahead: a move past that is a 409 and moves nothing', async () => {
    let offset = (await get()).body.offsetSeconds as number;
    while (offset + 31_622_400 <= 315_576_000) offset = (await post({ advanceSeconds: 31_622_400 })).body.offsetSeconds as number;
    const refused = await post({ advanceSeconds: 31_622_400 });
    expect([refused.status, refused.body.error]).toEqual([409, 'conflict']);
    expect((await get()).body.offsetSeconds).toBe(offset);
  });
});

describe('the billing clock outside sandbox mode', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'twilio-token',
      VAPI_API_KEY: 'vapi-key',
      PUBLIC_BASE_URL: 'https://gates.example.com',
      STRIPE_SECRET_KEY: 'sk_test_0123456789',
      STRIPE_WEBHOOK_SECRET: 'whsec_0123456789',
    });
  });
  afterAll(async () => ctx.close());

  it('answers 404 to operators and 401 to anyone else, and keeps the offset at 0', async () => {
    expect(ctx.config.sandbox.enabled).toBe(false);
    const got = await request(ctx.app()).get('/api/admin/clock').set(admin);
    expect([got.status, got.body.error]).toEqual([404, 'not_found']);
    expect((await request(ctx.app()).post('/api/admin/clock').set(admin).send({ advanceSeconds: 60 })).status).toBe(404);
    expect((await request(ctx.app()).post('/api/admin/clock').send({ advanceSeconds: 60 })).status).toBe(401);
    expect((await ctx.pool.query('select billing_offset_seconds() as s')).rows[0]).toEqual({ s: 0 });
    expect(ctx.services.billingClock.offsetMs()).toBe(0);
  });
});
