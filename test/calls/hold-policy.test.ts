// Proves the hold policy's arithmetic for any balance and setting (fast-check over the real
// pricing functions): a hold never exceeds what is available, never falls below CALL_MIN_BALANCE,
// and covers the cost of the whole granted duration, which stays within Vapi's bounds.
import fc from 'fast-check';
import { planHold } from '../../shared/calls/hold-policy';
import { callCharge } from '../../shared/pricing';

describe('hold policy', () => {
  it('holds between the cost of the granted duration and the available balance', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000, max: 100_000_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 600 }),
        (available, callMinBalance, callRatePerMinute, margin) => {
          const pricing = { currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance, callRatePerMinute };
          const plan = planHold(pricing, margin, available);
          if (available < callMinBalance) {
            expect(plan).toBeUndefined();
            return;
          }
          if (plan === undefined) {
            // Only when even Vapi's 10-second minimum costs more than is available.
            expect(callCharge(pricing, 10)).toBeGreaterThan(available);
            return;
          }
          expect(plan.amount).toBeLessThanOrEqual(available);
          expect(plan.amount).toBeGreaterThanOrEqual(callMinBalance);
          expect(plan.amount).toBeGreaterThanOrEqual(callCharge(pricing, plan.maxDurationSeconds));
          expect(plan.maxDurationSeconds).toBeGreaterThanOrEqual(10);
          expect(plan.maxDurationSeconds).toBeLessThanOrEqual(43_200);
        },
      ),
    );
  });

  it('refuses below CALL_MIN_BALANCE and grants 1066 s holding 995 on 1000 at the default prices (full)', () => {
    const pricing = { currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance: 79, callRatePerMinute: 56 };
    expect(planHold(pricing, 5, 78)).toBeUndefined();
    expect(planHold(pricing, 5, 79)).toEqual({ amount: 79, maxDurationSeconds: 79, cap: 74, heldSeconds: 79 });
    expect(planHold(pricing, 5, 1000)).toEqual({ amount: 995, maxDurationSeconds: 1066, cap: 995, heldSeconds: 1066 });
  });

  it('holds one slice (112 for 120 s at 56/min) of a metered call, the whole cost when less, and CALL_MIN_BALANCE at least', () => {
    const pricing = { currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance: 79, callRatePerMinute: 56 };
    const metered = { kind: 'metered' as const, holdSeconds: 120 };
    expect(planHold(pricing, 5, 1000, metered)).toEqual({ amount: 112, maxDurationSeconds: 1066, cap: 995, heldSeconds: 120 });
    // The ninth call on a wallet of 1000: 104 left, 106 s granted, costing 99 — less than a slice.
    expect(planHold(pricing, 5, 104, metered)).toEqual({ amount: 99, maxDurationSeconds: 106, cap: 99, heldSeconds: 106 });
    expect(planHold(pricing, 5, 100, metered)).toEqual({ amount: 96, maxDurationSeconds: 102, cap: 96, heldSeconds: 102 });
    expect(planHold(pricing, 5, 78, metered)).toBeUndefined();
  });

  it('never holds more than is available nor less than CALL_MIN_BALANCE, and never more than the cap unless the minimum demands it (metered)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000, max: 100_000_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 10, max: 43_200 }),
        (available, callMinBalance, callRatePerMinute, holdSeconds) => {
          const pricing = { currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance, callRatePerMinute };
          const plan = planHold(pricing, 5, available, { kind: 'metered', holdSeconds });
          if (plan === undefined) return;
          expect(plan.amount).toBeLessThanOrEqual(available);
          expect(plan.amount).toBeGreaterThanOrEqual(callMinBalance);
          expect(plan.amount).toBeLessThanOrEqual(Math.max(plan.cap, callMinBalance));
          expect(plan.cap).toBe(callCharge(pricing, plan.maxDurationSeconds));
          expect(plan.heldSeconds).toBeLessThanOrEqual(plan.maxDurationSeconds);
          expect(callCharge(pricing, plan.heldSeconds)).toBeLessThanOrEqual(plan.amount);
        },
      ),
    );
  });
});
