// Proves that the two atomic steps that plan a hold themselves (Lua call_gate_decide through its
// plan_hold, SQL call_gate_admit through call_gate_plan_hold) compute exactly planHold() of
// shared/calls/hold-policy.ts: fast-check drives many balances and settings through the real
// Redis and the real Postgres and compares each answer with planHold() on the same inputs; then
// the same at a call's own rate (CONTRACT §10: connect fee, minimum, increments), and the cost of
// a call's seconds (pricing.ts callCost / secondsPaid) against SQL call_rate_cost and
// call_rate_paid_seconds, the formula of every charge.
import { NO_SPEND_CONTROLS } from '../../shared/wallet/wallet-controls';
import { join } from 'node:path';
import fc from 'fast-check';
import { planHold } from '../../shared/calls/hold-policy';
import { loadLuaScript } from '../../shared/load-lua-script';
import { callCost, secondsPaid, VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS, type CallRate } from '../../shared/pricing';
import { createTestContext, type TestContext } from '../support/context';

const CALL_GATE_PLAN = loadLuaScript(join(__dirname, '../../shared/calls/call-gate-plan-0.lua'));

describe('hold plan parity (Lua and SQL against planHold)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  // Wallets up to ten million pounds, negative balances (debts) included; settings across their
  // whole validated ranges (shared/config.ts).
  const inputs = fc.record({
    available: fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000_000 }), fc.integer({ min: -100, max: 5_000 })),
    callMinBalance: fc.integer({ min: 0, max: 100_000 }),
    callRatePerMinute: fc.integer({ min: 1, max: 1_000_000 }),
    margin: fc.integer({ min: 0, max: 600 }),
    policy: fc.constantFrom<'metered' | 'full'>('metered', 'full'),
    holdSeconds: fc.integer({ min: 10, max: 43_200 }),
  });
  type Inputs = { available: number; callMinBalance: number; callRatePerMinute: number; margin: number; policy: 'metered' | 'full'; holdSeconds: number };
  const expected = (i: Inputs) => {
    const policy = i.policy === 'metered' ? { kind: 'metered' as const, holdSeconds: i.holdSeconds } : { kind: 'full' as const };
    const plan = planHold({ currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance: i.callMinBalance, callRatePerMinute: i.callRatePerMinute }, i.margin, i.available, policy);
    return plan === undefined ? null : plan;
  };
  const fromArray = (a: ReadonlyArray<string | number>) => ({ amount: Number(a[0]), maxDurationSeconds: Number(a[1]), cap: Number(a[2]), heldSeconds: Number(a[3]) });

  it('plans in Lua exactly what planHold plans, for any balance and setting', async () => {
    await fc.assert(
      fc.asyncProperty(inputs, async (i) => {
        const reply = (await ctx.services.redis.eval(CALL_GATE_PLAN.lua, 0, i.available, i.callRatePerMinute, i.callMinBalance, i.margin, VAPI_MIN_DURATION_SECONDS, VAPI_MAX_DURATION_SECONDS, i.policy, i.holdSeconds)) as string[];
        const lua = reply.length === 0 ? null : fromArray(reply);
        expect(lua).toEqual(expected(i));
      }),
      { numRuns: 500 },
    );
  });

  it('plans in SQL exactly what planHold plans, for any balance and setting', async () => {
    await fc.assert(
      fc.asyncProperty(inputs, async (i) => {
        const { rows } = await ctx.pool.query<{ plan: string[] | null }>(
          'select call_gate_plan_hold($1, $2, $3, $4, $5, $6, $7, $8) as plan',
          [i.available, i.callRatePerMinute, i.callMinBalance, i.margin, VAPI_MIN_DURATION_SECONDS, VAPI_MAX_DURATION_SECONDS, i.policy, i.holdSeconds],
        );
        const plan = rows[0]?.plan ?? null;
        const sql = plan === null ? null : fromArray(plan);
        expect(sql).toEqual(expected(i));
      }),
      { numRuns: 300 },
    );
  });

  it('places in one Redis call the hold planHold plans, and refuses where planHold refuses', async () => {
    const T = 1_800_000_000_000;
    const terms = { ratePerMinute: 56, minBalance: 79, safetyMarginSeconds: 5, holdGraceSeconds: 300, policy: 'metered' as const, holdSeconds: 120 };
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -500, max: 200_000 }), async (balance) => {
        const orgId = `00000000-0000-4000-9000-${String(++n).padStart(12, '0')}`;
        await ctx.services.cache.put(orgId, { balance, version: 1, currency: 'gbp', controls: NO_SPEND_CONTROLS });
        const plan = expected({ available: balance, callMinBalance: 79, callRatePerMinute: 56, margin: 5, policy: 'metered', holdSeconds: 120 });
        const step = await ctx.services.calls.hot.decide(orgId, 'p1', terms, T);
        if (plan === null) {
          expect(step).toEqual({ outcome: 'available', available: balance });
        } else {
          expect(step).toEqual({
            outcome: 'held',
            hold_amount: plan.amount,
            max_duration_seconds: plan.maxDurationSeconds,
            available: balance - plan.amount,
            expires_at_ms: T + (plan.maxDurationSeconds + 300) * 1000,
            cap: plan.cap,
            held_seconds: plan.heldSeconds,
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  // A destination's rate across the rate table's validated ranges (api/routes/admin-rates.ts).
  const rated = fc.record({
    available: fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000_000 }), fc.integer({ min: -100, max: 50_000 })),
    callMinBalance: fc.integer({ min: 0, max: 100_000 }),
    margin: fc.integer({ min: 0, max: 600 }),
    policy: fc.constantFrom<'metered' | 'full'>('metered', 'full'),
    holdSeconds: fc.integer({ min: 10, max: 43_200 }),
    rate: fc.record({
      prefix: fc.constant('+63'),
      ratePerMinute: fc.integer({ min: 1, max: 1_000_000 }),
      connectFee: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_000_000 })),
      minimumSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3600 })),
      incrementSeconds: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3600 })),
    }),
  });
  type Rated = Omit<Inputs, 'callRatePerMinute'> & { rate: CallRate };
  const expectedAt = (i: Rated) => {
    const policy = i.policy === 'metered' ? { kind: 'metered' as const, holdSeconds: i.holdSeconds } : { kind: 'full' as const };
    return planHold({ currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance: i.callMinBalance, callRatePerMinute: 56 }, i.margin, i.available, policy, i.rate) ?? null;
  };

  it("plans at a call's own rate (connect fee, minimum, increments) in Lua and SQL exactly what planHold plans", async () => {
    await fc.assert(
      fc.asyncProperty(rated, async (i) => {
        const r = i.rate;
        const reply = (await ctx.services.redis.eval(CALL_GATE_PLAN.lua, 0, i.available, r.ratePerMinute, i.callMinBalance, i.margin, VAPI_MIN_DURATION_SECONDS, VAPI_MAX_DURATION_SECONDS, i.policy, i.holdSeconds, r.connectFee, r.minimumSeconds, r.incrementSeconds)) as string[];
        expect(reply.length === 0 ? null : fromArray(reply)).toEqual(expectedAt(i));
        const { rows } = await ctx.pool.query<{ plan: string[] | null }>('select call_gate_plan_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) as plan', [
          i.available, r.ratePerMinute, i.callMinBalance, i.margin, VAPI_MIN_DURATION_SECONDS, VAPI_MAX_DURATION_SECONDS, i.policy, i.holdSeconds, r.connectFee, r.minimumSeconds, r.incrementSeconds,
        ]);
        const plan = rows[0]?.plan ?? null;
        expect(plan === null ? null : fromArray(plan)).toEqual(expectedAt(i));
      }),
      { numRuns: 300 },
    );
  });

  it('costs whole seconds, and finds the seconds an amount pays for, in SQL exactly as pricing.ts does', async () => {
    await fc.assert(
      fc.asyncProperty(rated, fc.integer({ min: 0, max: 86_400 }), fc.integer({ min: -1000, max: 100_000_000 }), async (i, seconds, amount) => {
        const r = i.rate;
        const { rows } = await ctx.pool.query<{ cost: string; paid: string }>(
          'select call_rate_cost($1, $2, $3, $4, $5) as cost, call_rate_paid_seconds($6, $2, $3, $4, $5) as paid',
          [seconds, r.ratePerMinute, r.connectFee, r.minimumSeconds, r.incrementSeconds, amount],
        );
        expect(Number(rows[0]?.cost)).toBe(callCost(r, seconds));
        expect(Number(rows[0]?.paid)).toBe(secondsPaid(r, amount));
        // The inverse: what an amount pays for costs no more than it, and one increment more costs more.
        const paid = secondsPaid(r, amount);
        if (paid > 0) expect(callCost(r, paid)).toBeLessThanOrEqual(amount);
        expect(callCost(r, Math.max(paid, r.minimumSeconds) + r.incrementSeconds)).toBeGreaterThan(amount);
      }),
      { numRuns: 300 },
    );
  });
});
