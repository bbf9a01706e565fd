// Proves, with generated end-of-call reports (fast-check, seeded and bounded), that whatever
// figures Vapi sends for a call that passed the gate — valid, swapped, missing, absurd or
// wrong-typed timestamps; negative, huge, fractional, string or null durations; our own record
// with or without its "ended" time — the webhook answers 200, the call is charged once, and the
// charge is a whole amount between 0 and ceil((maxDurationSeconds + CALL_HOLD_GRACE_SECONDS) ×
// rate ÷ 60), and exactly ceil(ms × rate ÷ 60000) when the timestamps are valid and plausible
// (failure mode 26). The ledger stays consistent (balance == Σ entries) throughout.
import fc from 'fast-check';
import { billCall } from '../../shared/calls/call-billing';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { fuzzParams } from '../support/fuzz';
import { expectLedgerConsistent, ledgerViolations } from '../support/invariants';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

const GRACE = 300;
const RATE = 56;
const BASE = Date.parse('2026-11-23T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('fuzzing end-of-call reports of admitted calls', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ CALL_HOLD_GRACE_SECONDS: String(GRACE), CALL_RATE_PER_MINUTE: String(RATE) });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  /** Anything a timestamp field might carry. */
  const stamp: fc.Arbitrary<unknown> = fc.oneof(
    fc.integer({ min: -50_000_000, max: 50_000_000 }).map((ms) => iso(BASE + ms)),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('2000-01-01T00:00:00.000Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '0001-01-01T00:00:00Z', '2026-02-30T00:00:00Z', 'yesterday', '', '2026-11-23'),
    fc.constant(undefined),
    fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1, maxKeys: 2 }), fc.string({ maxLength: 30 })),
  );
  /** [startedAt, endedAt, valid duration in ms or undefined] */
  const times: fc.Arbitrary<[unknown, unknown, number | undefined]> = fc.oneof(
    fc.integer({ min: 0, max: 50_000_000 }).map((d): [unknown, unknown, number] => [iso(BASE), iso(BASE + d), d]),
    fc.integer({ min: 1, max: 50_000_000 }).map((d): [unknown, unknown, undefined] => [iso(BASE + d), iso(BASE), undefined]),
    fc.tuple(stamp, stamp).map(([a, b]): [unknown, unknown, undefined] => [a, b, undefined]),
  );
  const duration: fc.Arbitrary<unknown> = fc.oneof(
    fc.double(),
    fc.double({ min: 0, max: 50_000, noNaN: true }),
    fc.integer({ min: -1_000_000, max: -1 }),
    fc.constantFrom(0, 0.0001, 59.9999, 1e7, 1e12, Number.MAX_SAFE_INTEGER, '60', 'abc', null, true, [], {}),
    fc.constant(undefined),
  );
  /** Our record: how long ago the call was admitted, and when (if at all) its "ended" came after that (ms). */
  const record = fc.record({ admittedAgoMs: fc.integer({ min: 0, max: 3 * 86_400_000 }), endedAfterMs: fc.option(fc.integer({ min: 0, max: 2 * 86_400_000 })) });
  const report = fc.record({ times, duration, inCall: fc.boolean(), balance: fc.integer({ min: 100, max: 100_000 }), record });

  it('answers 200 and charges every admitted call once, a whole amount within its bound', async () => {
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(report, async ({ times: [startedAt, endedAt, validMs], duration: durationSeconds, inCall, balance, record: rec }) => {
        const callId = `fuzz-settle-${++seq}`;
        const orgId = await createFundedOrg(ctx.services, balance);
        const num = await registerNumber(ctx.services, orgId);
        const gate = await postWebhook(ctx.app(), assistantRequest(num, callId));
        expect(gate.status).toBe(200);
        const maxDuration = gate.body.assistantOverrides?.maxDurationSeconds as number | undefined;
        if (maxDuration === undefined) throw new Error(`not admitted with balance ${balance}: ${JSON.stringify(gate.body)}`);
        await holdsRecorded(ctx.pool, [callId]);
        const admitted = Date.now() - rec.admittedAgoMs;
        await ctx.pool.query('update calls set admitted_at = $2, ended_at = $3 where call_id = $1', [
          callId,
          iso(admitted),
          rec.endedAfterMs === null ? null : iso(admitted + rec.endedAfterMs),
        ]);

        const times = inCall ? {} : { startedAt, endedAt };
        const message = {
          type: 'end-of-call-report',
          endedReason: 'customer-ended-call',
          ...times,
          durationSeconds,
          call: { id: callId, phoneNumberId: num.vapiPhoneNumberId, metadata: { orgId }, ...(inCall ? { startedAt, endedAt } : {}) },
          phoneNumber: { id: num.vapiPhoneNumberId, number: num.e164 },
        };
        const res = await postWebhook(ctx.app(), { message });
        if (res.status !== 200) throw new Error(`end-of-call-report → ${res.status} ${res.text.slice(0, 200)}`);

        const r = await billCall(ctx.services.calls.billing, callId, 'report');
        if (r.outcome !== 'charged') throw new Error(`not charged: ${r.outcome}`);
        const cap = Math.ceil(((maxDuration + GRACE) * RATE) / 60);
        expect(Number.isSafeInteger(r.amount)).toBe(true);
        expect(r.amount).toBeGreaterThanOrEqual(0);
        expect(r.amount).toBeLessThanOrEqual(cap);
        if (validMs !== undefined && validMs <= (maxDuration + GRACE) * 1000) {
          // ceil(ms × rate ÷ 60000), in exact integers.
          const exact = (BigInt(validMs) * BigInt(RATE) + 59_999n) / 60_000n;
          expect(r.amount).toBe(Number(exact));
        }
        const entries = await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call'", [orgId]);
        expect(entries.rows.map((e) => -Number(e.amount) || 0)).toEqual([r.amount]);
        // A second billing charges nothing more.
        expect((await billCall(ctx.services.calls.billing, callId, 'report')).outcome).toBe('already_billed');
        expect(await ledgerViolations(ctx.pool)).toEqual([]);
      }),
      fuzzParams(60),
    );
  });
});
