// Proves what "a month" of rent is (CONTRACT §11, README "Monthly number rental"): the anniversary
// is the purchase's day of the month, clamped to the last day of a shorter month, at the purchase's
// time of day, and always counted from the purchase, never from the previous (clamped)
// anniversary. First the period function itself (SQL rent_period_start, the only implementation)
// against worked examples and, with fast-check, against an oracle written here in JavaScript's UTC
// calendar over any instant of 1970–2400 and 0–1200 months; then at the SQL level through the
// whole rent path: a number bought on 31 January 2027 is charged on 28 February 2027 and not a
// minute before, then on 31 March, then on 30 April, each once.
import fc from 'fast-check';
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createProvisioningWorld, type ProvisioningWorld } from '../support/provisioning';
import { advanceClockTo, buyNumber, numberRow, rentEntries, runRentSweep } from '../support/rental';

jest.setTimeout(60_000);

/** The oracle: the anchor plus n calendar months in UTC, the day clamped to the month's last. */
function addUtcMonths(anchor: Date, months: number): Date {
  const y = anchor.getUTCFullYear();
  const m = anchor.getUTCMonth() + months;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(anchor.getUTCDate(), last), anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()));
}

describe('a month of rent', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({}, { workers: false });
  });
  afterAll(async () => w.close());

  const periodStart = async (anchor: string | Date, months: number): Promise<string> => {
    const r = await w.ctx.pool.query<{ at: Date }>('select rent_period_start($1::timestamptz, $2) as at', [anchor, months]);
    return r.rows[0]!.at.toISOString();
  };

  describe('the period function (rent_period_start)', () => {
    it('renews a number bought on 31 January on the last day of February, then on 31 March, 30 April, 31 May', async () => {
      const jan31 = '2027-01-31T10:15:30Z';
      expect(await periodStart(jan31, 0)).toBe('2027-01-31T10:15:30.000Z');
      expect(await periodStart(jan31, 1)).toBe('2027-02-28T10:15:30.000Z');
      expect(await periodStart(jan31, 2)).toBe('2027-03-31T10:15:30.000Z'); // from the anchor, not 28 March
      expect(await periodStart(jan31, 3)).toBe('2027-04-30T10:15:30.000Z');
      expect(await periodStart(jan31, 4)).toBe('2027-05-31T10:15:30.000Z');
      expect(await periodStart(jan31, 13)).toBe('2028-02-29T10:15:30.000Z'); // a leap year's February
    });

    it('keeps the day of the month when every month has it, and clamps the 29th and 30th in February', async () => {
      expect(await periodStart('2027-03-15T00:00:00Z', 1)).toBe('2027-04-15T00:00:00.000Z');
      expect(await periodStart('2027-12-31T23:59:59Z', 2)).toBe('2028-02-29T23:59:59.000Z');
      expect(await periodStart('2028-02-29T12:00:00Z', 12)).toBe('2029-02-28T12:00:00.000Z');
      expect(await periodStart('2028-02-29T12:00:00Z', 48)).toBe('2032-02-29T12:00:00.000Z');
      expect(await periodStart('2027-01-30T08:00:00Z', 1)).toBe('2027-02-28T08:00:00.000Z');
      expect(await periodStart('2027-01-30T08:00:00Z', 2)).toBe('2027-03-30T08:00:00.000Z');
    });

    it('is the same in every session time zone (UTC is fixed in the function)', async () => {
      const c = await w.ctx.pool.connect();
      try {
        await c.query("set time zone 'Pacific/Auckland'");
        const r = await c.query<{ at: Date }>("select rent_period_start('2027-01-31T23:30:00Z', 1) as at");
        expect(r.rows[0]!.at.toISOString()).toBe('2027-02-28T23:30:00.000Z');
      } finally {
        await c.query('reset time zone');
        c.release();
      }
    });

    it('agrees with the calendar oracle for any anchor and month count', async () => {
      const anchor = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2400-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));
      await fc.assert(
        fc.asyncProperty(anchor, fc.integer({ min: 0, max: 1200 }), async (a, months) => {
          expect(await periodStart(a, months)).toBe(addUtcMonths(a, months).toISOString());
        }),
        { numRuns: 300, seed: 24 },
      );
    });

    it('refuses a month count outside 0..1200', async () => {
      await expect(periodStart('2027-01-31T10:00:00Z', -1)).rejects.toThrow(/out of range/);
      await expect(periodStart('2027-01-31T10:00:00Z', 1201)).rejects.toThrow(/out of range/);
    });
  });

  describe('the rent of a number bought on 31 January', () => {
    afterEach(async () => expectLedgerConsistent(w.ctx.pool));

    it('is charged on 28 February and not before, then on 31 March and 30 April, once each', async () => {
      const orgId = await createFundedOrg(w.ctx.services, 10_000);
      const n = await buyNumber(w, orgId, 'jan-31');
      // As if bought at 10:00 UTC on 31 January 2027: the purchase's anchor and its first month.
      await w.ctx.pool.query("update phone_numbers set rent_anchor = '2027-01-31T10:00:00Z', paid_until = '2027-02-28T10:00:00Z' where id = $1", [n.numberId]);

      await advanceClockTo(w.ctx, new Date('2027-02-28T09:58:00Z'));
      expect((await runRentSweep(w.ctx)).monthsCharged).toBe(0);
      expect(await rentEntries(w.ctx, orgId)).toEqual([]);

      await advanceClockTo(w.ctx, new Date('2027-02-28T10:00:30Z'));
      await runRentSweep(w.ctx);
      await runRentSweep(w.ctx);
      expect((await rentEntries(w.ctx, orgId)).map((e) => e.idempotency_key)).toEqual([`rent:${n.numberId}:2027-02-28T10:00:00Z`]);
      expect((await numberRow(w.ctx, n.numberId)).paid_until!.toISOString()).toBe('2027-03-31T10:00:00.000Z');

      await advanceClockTo(w.ctx, new Date('2027-03-31T09:00:00Z'));
      expect((await runRentSweep(w.ctx)).monthsCharged).toBe(0);
      await advanceClockTo(w.ctx, new Date('2027-04-30T10:00:30Z'));
      // Two months due at once (the sweep did not run on 31 March): both charged, each once, in order.
      expect((await runRentSweep(w.ctx)).monthsCharged).toBe(2);
      expect((await rentEntries(w.ctx, orgId)).map((e) => [e.idempotency_key, e.amount])).toEqual([
        [`rent:${n.numberId}:2027-02-28T10:00:00Z`, -1000],
        [`rent:${n.numberId}:2027-03-31T10:00:00Z`, -1000],
        [`rent:${n.numberId}:2027-04-30T10:00:00Z`, -1000],
      ]);
      expect(await numberRow(w.ctx, n.numberId)).toMatchObject({ status: 'active', paid_months: 4 });
      expect((await numberRow(w.ctx, n.numberId)).paid_until!.toISOString()).toBe('2027-05-31T10:00:00.000Z');
    });
  });
});
