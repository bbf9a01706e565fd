// Monthly number rental (issue 24, CONTRACT §11): the rent sweep and the retries after a credit.
//
// chargeDueRents walks the numbers whose rental month has begun on the billing clock (and those
// whose release is unfinished), page by page, and hands each to phone_number_rent_charge, which
// decides under the wallet's and the number's row locks: every month begun is charged once (the
// ledger's unique key rent:<number>:<month>), or the number goes past due, or — unpaid past its
// grace — to its release, which this then does at Vapi and Twilio. Any number of workers may run
// it at once, and a run killed half-way is simply run again: a number's charge is one transaction.
// One number that fails (a provider down during its release) does not stop the others; the run
// then fails at the end so BullMQ retries it with backoff, and the schedule runs it again anyway.
// A run reads at most RENT_SWEEP_MAX_PAGES pages; a longer list is continued by a job that starts
// after the last id read, never from the top again (failure mode 39).
//
// The sweep is a BullMQ job scheduler (every RENT_INTERVAL_MS, at most a day: past-due numbers are
// tried at least daily), re-asserted by every workers process (keep-schedules.ts). A credit on a
// wallet with a past-due number writes a retry_rent outbox row (ledger_post); the outbox relay
// (money-in-worker.ts) queues an `org` job for it, so the rent is tried again within moments.
import { Worker, type Job, type Queue } from 'bullmq';
import type { Services } from '../shared/process/services';
import { phoneNumberMonthlyPrices } from '../shared/pricing';
import { createRedis } from '../shared/redis';
import { graceSeconds, rentalDeps, type RentalDeps } from '../shared/rental/rental-deps';
import { forgetCachedNumber, releaseRentedNumber } from '../shared/rental/release-rented-number';
import type { RentCharge } from '../shared/rental/rental-store';
import { jobIds, KEEP_COMPLETED, KEEP_FAILED, QUEUE_NAMES, rentalJobOptions, type RentalJob } from '../shared/queues/queues';
import { closeWorker } from './close-worker';

export const RENT_SWEEP_SCHEDULER_ID = 'rent-sweep';
/** Numbers per page of the due list, and pages per run (what is left waits for the next run). */
export const RENT_SWEEP_BATCH = 200;
export const RENT_SWEEP_MAX_PAGES = 50;
const RENT_CONCURRENCY = 2;

export interface RentRunReport {
  /** Numbers looked at. */
  numbers: number;
  /** Months charged, and what they came to (minor units, any currency). */
  monthsCharged: number;
  amount: number;
  pastDue: number;
  reactivated: number;
  released: number;
  /** Numbers whose wallet currency has no monthly price (not charged: an operator must set one). */
  notPriced: number;
  /** Numbers that could not be decided or released this run (tried again). */
  failed: number;
  /** Where the list goes on when the run stopped at its page limit (the next job starts there), else null. */
  next: string | null;
}

/** One schedule however many worker processes start (upsert by id). */
export async function scheduleRentSweep(rentals: Queue<RentalJob>, intervalMs: number): Promise<void> {
  await rentals.upsertJobScheduler(
    RENT_SWEEP_SCHEDULER_ID,
    { every: intervalMs },
    { name: RENT_SWEEP_SCHEDULER_ID, data: { task: 'sweep' }, opts: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED } },
  );
}

export interface RentRunScope {
  /** One organisation's numbers (a credit's retry), else every organisation's. */
  orgId?: string;
  /** Start after this number id (a continued run). */
  after?: string;
  /** Page size and page limit (tests make them small). */
  batch?: number;
  maxPages?: number;
}

/** Charges every due rent (of one organisation, or all), moves unpaid numbers along, finishes releases. */
export async function chargeDueRents(d: RentalDeps, scope: RentRunScope = {}): Promise<RentRunReport> {
  const report: RentRunReport = { numbers: 0, monthsCharged: 0, amount: 0, pastDue: 0, reactivated: 0, released: 0, notPriced: 0, failed: 0, next: null };
  const prices = phoneNumberMonthlyPrices(d.config.pricing);
  const batch = scope.batch ?? RENT_SWEEP_BATCH;
  const maxPages = scope.maxPages ?? RENT_SWEEP_MAX_PAGES;
  let after: string | null = scope.after ?? null;
  for (let page = 0; page < maxPages; page++) {
    const due = await d.rental.dueNumbers({ orgId: scope.orgId ?? null, after, limit: batch });
    for (const n of due) {
      report.numbers++;
      try {
        await rentOne(d, await d.rental.chargeRent(n.id, prices, graceSeconds(d.config)), report);
      } catch (err) {
        report.failed++;
        d.log.error({ numberId: n.id, orgId: n.org_id, err: (err as Error).message }, 'rent: could not settle a number this run; the next run tries again');
      }
    }
    const last = due[due.length - 1];
    if (due.length < batch || last === undefined) break;
    after = last.id;
    if (page === maxPages - 1) report.next = after;
  }
  if (report.monthsCharged + report.pastDue + report.released + report.failed > 0) d.log.info({ ...report, orgId: scope.orgId }, 'rent run finished');
  return report;
}

/** What one number's charge means for the cache, the metrics and its release. */
async function rentOne(d: RentalDeps, r: RentCharge, report: RentRunReport): Promise<void> {
  if (r.outcome === 'currency_not_priced') {
    report.notPriced++;
    d.metrics.numberRents.inc({ outcome: 'currency_not_priced' });
    d.log.error({ numberId: r.number.id, orgId: r.number.orgId, currency: r.currency }, 'rent: no monthly price for this currency (PHONE_NUMBER_MONTHLY_PRICES); the number is not charged');
    return;
  }
  if (r.outcome === 'not_found' || r.outcome === 'not_rented' || r.outcome === 'released') return;
  if (r.outcome === 'releasing') {
    await releaseRentedNumber(d, r.number);
    report.released++;
    return;
  }
  if (r.charged > 0) {
    report.monthsCharged += r.charged;
    report.amount += r.amount;
    d.metrics.numberRents.inc({ outcome: 'charged' }, r.charged);
    d.metrics.walletMovements.inc({ kind: 'phone_number_rent', outcome: 'posted' }, r.charged);
    d.metrics.walletMovementAmount.inc({ kind: 'phone_number_rent', currency: r.currency }, r.amount);
    await d.wallet.writeThrough(r.number.orgId, r.wallet);
  }
  if (r.reactivated) {
    report.reactivated++;
    d.metrics.numberStatusChanges.inc({ status: 'reactivated' });
  }
  if (r.outcome === 'past_due' || r.outcome === 'still_past_due') d.metrics.numberRents.inc({ outcome: 'failed' });
  if (r.outcome === 'past_due') {
    report.pastDue++;
    d.metrics.numberStatusChanges.inc({ status: 'past_due' });
    d.log.warn({ numberId: r.number.id, orgId: r.number.orgId, releaseAt: r.number.releaseAt }, 'rent: the wallet cannot pay; the number is past due');
  }
  // The gate caches each number's status: a number that changed must be read again.
  if (r.reactivated || r.outcome === 'past_due' || r.outcome === 'release_due') await forgetCachedNumber(d, r.number);
  if (r.outcome === 'release_due') {
    await releaseRentedNumber(d, r.number);
    report.released++;
  }
}

export function startRentWorker(services: Services) {
  const deps = rentalDeps(services);
  const connection = createRedis(services.config.redis, 'blocking', 'rent-worker');
  const worker = new Worker<RentalJob>(
    QUEUE_NAMES.rentals,
    async (job: Job<RentalJob>) => {
      const scope = job.data.task === 'org' ? { orgId: job.data.orgId, after: job.data.after } : { after: job.data.after };
      const report = await chargeDueRents(deps, scope);
      // The list was longer than one run: the rest now, from where this one stopped.
      if (report.next !== null) {
        const next: RentalJob = { ...job.data, after: report.next };
        await services.queues.rentals.add('sweep', next, rentalJobOptions(jobIds.rentSweep(`after-${report.next}-${job.id ?? ''}`)));
      }
      // Everything decided is committed; what failed is tried again by BullMQ's retry.
      if (report.failed > 0) throw new Error(`rent run left ${report.failed} number(s) unsettled`);
      return report;
    },
    { connection, prefix: services.keys.bullPrefixFor(QUEUE_NAMES.rentals), concurrency: RENT_CONCURRENCY, lockDuration: services.config.limits.jobLockMs, stalledInterval: services.config.limits.jobLockMs },
  );
  worker.on('failed', (job, err) => {
    services.metrics.jobRetries.inc({ queue: QUEUE_NAMES.rentals });
    services.log.warn({ task: job?.data.task, err: err.message }, 'rent run failed; retried');
  });
  worker.on('error', (err) => services.log.error({ err: err.message }, 'rent worker error'));
  return { close: (deadlineMs: number) => closeWorker(worker, connection, deadlineMs, services.log) };
}
