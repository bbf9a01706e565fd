// Proves the monthly rent is charged once per number per month however many workers run it
// (CONTRACT §11): numbers bought through the real purchase path (SQL debit, the worker's attempt
// against the Twilio and Vapi simulators), the billing clock moved 31 days by an operator, then the
// rent run from three separate service instances at once (each its own pool and Redis connection,
// as three worker processes) and retried: exactly one phone_number_rent entry per active number,
// of the monthly price, referencing the number, keyed by the month it pays. The next month through
// three real BullMQ workers on the rentals queue, racing each other with repeated jobs: one more
// each. A registered number pays nothing. Rent counts in the day's spend but no spend control
// refuses it. The ledger invariants hold after each test.
import request from 'supertest';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices, type Services } from '../../shared/process/services';
import { jobIds, rentalJobOptions } from '../../shared/queues/queues';
import { rentalDeps } from '../../shared/rental/rental-deps';
import { createRedis } from '../../shared/redis';
import { chargeDueRents, startRentWorker } from '../../workers/rent-worker';
import { createFundedOrg, TEST_ADMIN_TOKEN } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createProvisioningWorld, type ProvisioningWorld } from '../support/provisioning';
import { advanceClock, buyNumber, DAY_SECONDS, numberRow, rentEntries, type BoughtNumber } from '../support/rental';
import { registerNumber } from '../support/vapi';
import { eventually } from '../support/eventually';

jest.setTimeout(60_000);

describe('monthly rent: one entry per number and month', () => {
  let w: ProvisioningWorld;
  const others: Services[] = [];
  beforeAll(async () => {
    w = await createProvisioningWorld({ PHONE_NUMBER_MONTHLY_PRICE: '700' }, { workers: false });
    // Two more "worker processes": their own pools and Redis connections, the same database and prefix.
    for (let i = 0; i < 2; i++) {
      others.push(createServices(w.ctx.config, { log: createLogger('silent'), metrics: createMetrics(), redis: createRedis(w.ctx.config.redis, 'fail-fast', `other-${i}`) }));
    }
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => {
    for (const s of others) await s.close();
    await w.close();
  });

  let orgId: string;
  let bought: BoughtNumber[];
  let registered: { e164: string };

  it('charges each active number exactly once when the clock passes a month, with three workers racing and the run retried', async () => {
    orgId = await createFundedOrg(w.ctx.services, 100_000);
    bought = [];
    for (let i = 0; i < 6; i++) bought.push(await buyNumber(w, orgId, `race-${i}`));
    registered = await registerNumber(w.ctx.services, orgId);
    const before = await Promise.all(bought.map((b) => numberRow(w.ctx, b.numberId)));
    // The purchase paid the first month: paid until one month after it.
    for (const r of before) expect(r.paid_until!.getTime()).toBe(addUtcMonths(r.rent_anchor!, 1).getTime());
    expect(await rentEntries(w.ctx, orgId)).toEqual([]);

    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    const runs = await Promise.all([w.ctx.services, ...others].map((s) => chargeDueRents(rentalDeps(s))));
    expect(runs.reduce((n, r) => n + r.monthsCharged, 0)).toBe(6);
    // The job retried (a stalled run, a second schedule): nothing more.
    expect((await chargeDueRents(rentalDeps(others[0]!))).monthsCharged).toBe(0);

    const entries = await rentEntries(w.ctx, orgId);
    expect(entries).toHaveLength(6);
    for (const [i, b] of bought.entries()) {
      const mine = entries.filter((e) => e.reference === b.e164);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.amount).toBe(-700);
      expect(mine[0]!.idempotency_key).toBe(`rent:${b.numberId}:${before[i]!.paid_until!.toISOString().replace('.000Z', 'Z')}`);
      const after = await numberRow(w.ctx, b.numberId);
      expect(after).toMatchObject({ status: 'active', paid_months: 2 });
      expect(after.paid_until!.getTime()).toBe(addUtcMonths(after.rent_anchor!, 2).getTime());
    }
    // The registered number (not bought here) pays no rent.
    expect(entries.filter((e) => e.reference === registered.e164)).toEqual([]);
    const balance = await w.ctx.pool.query<{ balance: number }>('select balance from wallets where org_id = $1', [orgId]);
    expect(Number(balance.rows[0]!.balance)).toBe(100_000 - 6 * 1000 - 6 * 700);
  });

  it('charges the next month once more through three BullMQ workers racing on repeated jobs', async () => {
    const workers = [w.ctx.services, ...others].map((s) => startRentWorker(s));
    try {
      await advanceClock(w.ctx, 31 * DAY_SECONDS); // also queues a sweep itself
      const { rentals } = w.ctx.services.queues;
      await Promise.all([
        rentals.add('sweep', { task: 'sweep' }, rentalJobOptions(jobIds.rentSweep('race-a'))),
        rentals.add('sweep', { task: 'sweep' }, rentalJobOptions(jobIds.rentSweep('race-b'))),
        rentals.add('retry', { task: 'org', orgId }, rentalJobOptions(jobIds.rentSweep('race-c'))),
        rentals.add('retry', { task: 'org', orgId }, rentalJobOptions(jobIds.rentSweep('race-d'))),
      ]);
      await eventually(async () => ((await rentEntries(w.ctx, orgId)).length >= 12 ? true : undefined));
      // Every job finished (none waiting, running or backing off) before the count is read.
      await eventually(async () => {
        const c = await rentals.getJobCounts('waiting', 'active', 'delayed');
        return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0 ? true : undefined;
      });
    } finally {
      await Promise.all(workers.map((x) => x.close(5000)));
    }
    const entries = await rentEntries(w.ctx, orgId);
    expect(entries).toHaveLength(12);
    for (const b of bought) {
      expect(entries.filter((e) => e.reference === b.e164)).toHaveLength(2);
      expect(await numberRow(w.ctx, b.numberId)).toMatchObject({ status: 'active', paid_months: 3 });
    }
    expect(new Set(entries.map((e) => e.idempotency_key)).size).toBe(12);
  });

  it('goes on from where a run stopped at its page limit, never from the top again', async () => {
    const org = await createFundedOrg(w.ctx.services, 100_000, 'Paged');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await buyNumber(w, org, `paged-${i}`)).numberId);
    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    const first = await chargeDueRents(rentalDeps(w.ctx.services), { orgId: org, batch: 2, maxPages: 1 });
    expect([first.monthsCharged, first.next]).toEqual([2, [...ids].sort()[1]]);
    const second = await chargeDueRents(rentalDeps(w.ctx.services), { orgId: org, after: first.next!, batch: 2, maxPages: 1 });
    expect([second.monthsCharged, second.next]).toEqual([2, [...ids].sort()[3]]);
    const third = await chargeDueRents(rentalDeps(w.ctx.services), { orgId: org, after: second.next!, batch: 2, maxPages: 1 });
    expect([third.monthsCharged, third.next]).toEqual([1, null]);
    expect(await rentEntries(w.ctx, org)).toHaveLength(5);
  });

  it('counts a rent in the day\'s spend but never refuses it for a dailySpendLimit', async () => {
    const org = await createFundedOrg(w.ctx.services, 10_000, 'Limited');
    const n = await buyNumber(w, org, 'limited-1');
    const put = await request(w.ctx.app()).put(`/api/admin/orgs/${org}/limits`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ dailySpendLimit: 500 });
    expect(put.status).toBe(200);
    await advanceClock(w.ctx, 31 * DAY_SECONDS);
    await chargeDueRents(rentalDeps(w.ctx.services), { orgId: org });
    // 700 of rent on a limit of 500: charged all the same, and counted in today's spend.
    expect((await rentEntries(w.ctx, org)).map((e) => e.amount)).toEqual([-700]);
    expect(await numberRow(w.ctx, n.numberId)).toMatchObject({ status: 'active' });
    const spend = await w.ctx.pool.query<{ spend_today: number; today: boolean }>(
      "select spend_today, spend_day = (billing_now() at time zone 'utc')::date as today from wallets where org_id = $1",
      [org],
    );
    expect(spend.rows[0]).toEqual({ spend_today: 700, today: true });
  });
});

/** The anchor plus n calendar months in UTC, the day clamped to the month's last (an oracle in JavaScript). */
function addUtcMonths(anchor: Date, months: number): Date {
  const y = anchor.getUTCFullYear();
  const m = anchor.getUTCMonth() + months;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(anchor.getUTCDate(), last), anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()));
}
