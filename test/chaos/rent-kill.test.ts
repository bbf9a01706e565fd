// Chaos for the monthly rent (CONTRACT §11): workers killed mid-renewal charge each rent once. A
// real workers process (bin/launch.ts workers, its own process group) starts its rent schedule,
// whose first run charges a month for each of RENT_NUMBERS numbers whose month has begun on the
// billing clock; it is SIGKILLed while the run is part-way through (some months charged, not all).
// A second process takes the stalled job over once its lock lapses and is itself killed mid-run;
// a third finishes (with one more sweep queued, as a clock move queues one, since a job stalled
// twice is failed by BullMQ). Then: exactly one phone_number_rent entry per number for the month,
// no key twice, the balance down by exactly N rents, a further run charges nothing, and the ledger
// invariants hold. The numbers are written as the purchase leaves them (provision_request_complete's
// columns), in one statement, so that there are enough of them to kill a run in the middle.
import { jobIds, rentalJobOptions } from '../../shared/queues/queues';
import { createFundedOrg } from '../support/context';
import { ledgerViolations } from '../support/invariants';
import { createProvisioningWorld, type ProvisioningWorld } from '../support/provisioning';
import { DAY_SECONDS, rentEntries, runRentSweep } from '../support/rental';
import { TEST_REDIS_URL } from '../support/redis';
import { eventually } from '../support/eventually';
import { launchService, type ServiceProcess } from '../support/service-processes';

jest.setTimeout(180_000);

const RENT_NUMBERS = 600;
/** A run is killed once it has charged this many more months than before it started. */
const KILL_AFTER = 100;
const PRICE = 1000;

describe('chaos: workers killed mid-renewal', () => {
  let w: ProvisioningWorld;
  const spawned: ServiceProcess[] = [];
  beforeAll(async () => {
    w = await createProvisioningWorld({}, { workers: false });
  });
  afterAll(async () => {
    await Promise.allSettled(spawned.map((p) => p.stop()));
    await w.close();
  });

  function startWorkers(): ServiceProcess {
    const c = w.ctx.config;
    const p = launchService('workers', {
      DATABASE_URL: w.ctx.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: c.redis.keyPrefix,
      WORKERS_METRICS_PORT: '0',
      TWILIO_API_BASE_URL: c.twilio.apiBaseUrl ?? '',
      VAPI_API_BASE_URL: c.vapi.apiBaseUrl,
      // A killed worker's job runs elsewhere once its lock lapses: keep that short here.
      JOB_LOCK_DURATION_MS: '2000',
      RENT_INTERVAL_MS: '3600000',
      SWEEP_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'info',
    });
    spawned.push(p);
    return p;
  }

  const count = async (orgId: string) => (await rentEntries(w.ctx, orgId)).length;

  /** Waits for a run to be part-way (KILL_AFTER more months charged than `from`), then SIGKILLs its process. */
  async function killMidRun(p: ServiceProcess, orgId: string, from: number): Promise<number> {
    await eventually(async () => (await count(orgId)) >= from + KILL_AFTER, { what: 'a rent run under way', timeoutMs: 60_000, everyMs: 5 });
    await p.kill();
    const charged = await count(orgId);
    expect(p.alive()).toBe(false);
    return charged;
  }

  it('charges each number once for its month however often the run is killed and taken over', async () => {
    const orgId = await createFundedOrg(w.ctx.services, RENT_NUMBERS * PRICE + 5000);
    await w.ctx.pool.query(
      `insert into phone_numbers (org_id, e164, vapi_phone_number_id, twilio_sid, source, status, rent_anchor, paid_months, paid_until)
       select $1, '+1415' || lpad(i::text, 7, '0'), 'pn-chaos-' || i, 'PN' || md5(i::text), 'provisioned', 'active',
              date_trunc('second', billing_now()), 1, rent_period_start(date_trunc('second', billing_now()), 1)
         from generate_series(1, $2::int) i`,
      [orgId, RENT_NUMBERS],
    );
    await w.ctx.services.billingClock.advance(31 * DAY_SECONDS);

    // The first process's schedule runs at once; kill it part-way.
    const first = await killMidRun(startWorkers(), orgId, 0);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(RENT_NUMBERS);

    // The next takes the stalled job over (after the lock lapses); kill it part-way too.
    const afterSecond = await killMidRun(startWorkers(), orgId, first);
    expect(afterSecond).toBeGreaterThan(first);
    expect(afterSecond).toBeLessThan(RENT_NUMBERS);

    const third = startWorkers();
    await third.waitForOutput('workers started');
    // Stalled twice, BullMQ fails the job: the next trigger (the schedule, a clock move) is this.
    await w.ctx.services.queues.rentals.add('sweep', { task: 'sweep' }, rentalJobOptions(jobIds.rentSweep('after-chaos')));
    await eventually(async () => (await count(orgId)) >= RENT_NUMBERS, { what: 'every month charged', timeoutMs: 120_000, everyMs: 100 });
    await third.stop();

    expect((await runRentSweep(w.ctx)).monthsCharged).toBe(0);
    const entries = await rentEntries(w.ctx, orgId);
    expect(entries).toHaveLength(RENT_NUMBERS);
    expect(new Set(entries.map((e) => e.idempotency_key)).size).toBe(RENT_NUMBERS);
    expect(new Set(entries.map((e) => e.reference)).size).toBe(RENT_NUMBERS);
    expect(entries.every((e) => e.amount === -PRICE)).toBe(true);
    const rows = await w.ctx.pool.query<{ status: string; paid_months: number; n: number }>(
      'select status, paid_months, count(*)::int as n from phone_numbers where org_id = $1 group by 1, 2',
      [orgId],
    );
    expect(rows.rows).toEqual([{ status: 'active', paid_months: 2, n: RENT_NUMBERS }]);
    const balance = await w.ctx.pool.query<{ balance: number }>('select balance from wallets where org_id = $1', [orgId]);
    expect(balance.rows[0]!.balance).toBe(5000);
    expect(await ledgerViolations(w.ctx.pool)).toEqual([]);
  });
});
