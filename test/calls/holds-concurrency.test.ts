// Proves that holds keep simultaneous calls from spending one balance twice (failure mode 17),
// on the Redis path and on the Postgres fallback path: concurrent assistant-requests over HTTP
// against real Redis and Postgres, and the hold ending with the call's status-update "ended".
import request from 'supertest';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { dashboardToken } from '../support/jwt';
import { expectLedgerConsistent } from '../support/invariants';
import { assistantRequest, postWebhook, registerNumber, statusUpdate } from '../support/vapi';

describe('holds for calls in progress', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const allowedOf = (bodies: Array<{ body: Record<string, unknown> }>) => bodies.filter((r) => 'assistantId' in r.body);

  it('allows exactly one of two simultaneous calls on a balance of 100, and the next after it ends', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    const both = await Promise.all([postWebhook(ctx.app(), assistantRequest(num, 'c-a')), postWebhook(ctx.app(), assistantRequest(num, 'c-b'))]);
    for (const r of both) expect(r.status).toBe(200);
    const allowed = allowedOf(both);
    expect(allowed).toHaveLength(1);
    const refused = both.find((r) => !('assistantId' in r.body));
    expect(refused?.body.error).toMatch(/credit/);

    const winner = both[0]?.body.assistantId ? 'c-a' : 'c-b';
    expect((await postWebhook(ctx.app(), statusUpdate(winner, 'in-progress', orgId))).body).toEqual({ received: true });
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'c-c'))).body.error).toBeDefined();

    expect((await postWebhook(ctx.app(), statusUpdate(winner, 'ended', orgId))).status).toBe(200);
    const next = await postWebhook(ctx.app(), assistantRequest(num, 'c-d'));
    expect(next.body.assistantOverrides?.metadata).toEqual({ orgId });
  });

  it('releases the hold on status-update "ended" even without metadata (found from the durable hold)', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'c-nometa'))).body.assistantId).toBe(num.assistantId);
    // Wait for the hold's durable copy, which is where the org of a metadata-less update comes from.
    for (let i = 0; i < 200; i++) {
      if ((await ctx.pool.query('select 1 from calls where call_id = $1', ['c-nometa'])).rowCount === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await postWebhook(ctx.app(), statusUpdate('c-nometa', 'ended'));
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'c-after'))).body.assistantId).toBe(num.assistantId);
  });

  it('allows one of ten calls at once on a balance that covers one (Redis path)', async () => {
    const orgId = await createFundedOrg(ctx.services, 150);
    const num = await registerNumber(ctx.services, orgId);
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => postWebhook(ctx.app(), assistantRequest(num, `ten-${i}`))));
    for (const r of all) expect(r.status).toBe(200);
    expect(allowedOf(all)).toHaveLength(1);
  });

  it('allows one of ten calls at once through the one-call Postgres admission (call_gate_admit)', async () => {
    const orgId = await createFundedOrg(ctx.services, 150);
    const store = ctx.services.calls.store;
    // 150 at 56/min with a 5 s margin plans 155 s and holds 145, leaving 5 for the rest.
    const terms = { ratePerMinute: 56, minBalance: 79, safetyMarginSeconds: 5, holdGraceSeconds: 300, minDurationSeconds: 10, maxDurationSeconds: 43_200, policy: 'full' as const, holdSeconds: 120 };
    const steps = await Promise.all(Array.from({ length: 10 }, (_, i) => store.admit({ orgId, callId: `pga-${i}`, ...terms })));
    const held = steps.filter((s) => s.outcome === 'held');
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ outcome: 'held', hold_amount: 145, max_duration_seconds: 155, available: 5, hold: { amount: 145, cap: 145, slices: 1, state: 'held' } });
    expect(steps.filter((s) => s.outcome === 'available')).toHaveLength(9);
    for (const s of steps) if (s.outcome === 'available') expect(s.available).toBe(5);
  });

  it('admits exactly nine of twelve simultaneous calls on 1000 (metered): eight slices of 112 and one of 99, each granted time on what was available before its own hold', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => postWebhook(ctx.app(), assistantRequest(num, `nine-${i}`))));
    for (const r of all) expect(r.status).toBe(200);
    const allowed = allowedOf(all);
    expect(allowed).toHaveLength(9);
    // The k-th admission (any order) saw 1000 − 112k available: floor(a × 60 ÷ 56) − 5 seconds.
    const expectedDurations = Array.from({ length: 9 }, (_, k) => Math.floor(((1000 - 112 * k) * 60) / 56) - 5).sort((a, b) => a - b);
    const durations = allowed.map((r) => (r.body.assistantOverrides as { maxDurationSeconds: number }).maxDurationSeconds).sort((a, b) => a - b);
    expect(durations).toEqual(expectedDurations);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(995);
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const w = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
    expect(w.body).toMatchObject({ balance: 1000, available: 5 });
  });

  it('admits one call on a balance of 100 (metered), as under the full policy', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    const all = await Promise.all(Array.from({ length: 5 }, (_, i) => postWebhook(ctx.app(), assistantRequest(num, `hundred-${i}`))));
    expect(allowedOf(all)).toHaveLength(1);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(96);
  });
});

describe('holds for calls in progress (CALL_HOLD_POLICY=full)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ CALL_HOLD_POLICY: 'full' });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const allowedOf = (bodies: Array<{ body: Record<string, unknown> }>) => bodies.filter((r) => 'assistantId' in r.body);

  it('lets as many calls run at once as the balance covers at full length', async () => {
    // Each call's hold = ceil(43200 × 56 ÷ 60) = 40320 on a large balance: 3 fit in 130000.
    const orgId = await createFundedOrg(ctx.services, 130_000);
    const num = await registerNumber(ctx.services, orgId);
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => postWebhook(ctx.app(), assistantRequest(num, `many-${i}`))));
    const allowed = allowedOf(all);
    // Three full-length holds (120960), then a fourth on the remaining 9040: floor(9040×60÷56) − 5 = 9680 s, holding 9035.
    expect(allowed).toHaveLength(4);
    const durations = allowed.map((r) => (r.body.assistantOverrides as { maxDurationSeconds: number }).maxDurationSeconds).sort((a, b) => a - b);
    expect(durations).toEqual([9680, 43_200, 43_200, 43_200]);
  });
});
