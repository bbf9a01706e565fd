// Money in (issue 11): delivers wallet events to customers' webhooks, runs auto-recharges, and
// relays the SQL outbox (money_outbox, written in the transaction of each money movement) into
// those two queues, and (issue 24) a credit's retry of past-due rents into the rentals queue. The relay polls every MONEY_OUTBOX_POLL_MS and leases due rows for
// MONEY_OUTBOX_LEASE_SECONDS (money_outbox_claim). An event delivery row is queued under a
// deterministic job id and stays open until that job has finished (its job retries the delivery
// with backoff for hours): the relay defers the row by one lease at a time, marks it done once the
// job is completed or failed for good, and queues it again if Redis lost it (a restart without
// persistence, an eviction), so a lost job no longer loses the customer's webhook. A rent retry
// row is marked done once queued (the rent sweep retries daily whatever happens to its job). A recharge row is never
// marked done here: its job carries one attempt (job id per row and attempt, no BullMQ retries),
// and the row stays open in Postgres until its recharge is answered. A Stripe error backs the row
// off in SQL; a lost job (Redis restarted or evicted it) or a dead worker lets the lease lapse and
// the relay claims the row again. Postgres is the only scheduler of recharges (issue 22).
import { Worker, type Job } from 'bullmq';
import { createRedis } from '../shared/redis';
import { runAutoRecharge } from '../shared/money-in/auto-recharge';
import { deliverWalletEvent } from '../shared/money-in/event-delivery';
import type { Services } from '../shared/process/services';
import { jobIds, KEEP_COMPLETED, KEEP_FAILED, QUEUE_NAMES, rentalJobOptions, walletEventJobOptions, type AutoRechargeJob, type WalletEventJob } from '../shared/queues/queues';
import { closeWorker } from './close-worker';

export const OUTBOX_BATCH = 100;

export async function relayOutbox(services: Services): Promise<number> {
  const { moneyIn, queues, config, metrics, log } = services;
  const items = await moneyIn.claimOutbox(OUTBOX_BATCH, config.walletEvents.outboxLeaseSeconds);
  for (const item of items) {
    if (item.lease_expired) {
      metrics.moneyOutboxRetries.inc({ task: item.task, reason: 'lease_expired' });
      log.warn({ outboxId: item.id, orgId: item.org_id, task: item.task, attempt: item.attempt }, 'money outbox row claimed again: its last job never reported');
    }
    if (item.task === 'deliver_event' && item.event_id !== null) {
      await relayEventDelivery(services, item.id, item.event_id, item.attempt);
    } else if (item.task === 'retry_rent') {
      await queues.rentals.add('retry', { task: 'org', orgId: item.org_id }, rentalJobOptions(jobIds.rentRetry(item.id)));
      await moneyIn.outboxDone(item.id);
    } else {
      await queues.autoRecharges.add(
        'recharge',
        { orgId: item.org_id, outboxId: item.id, attempt: item.attempt },
        { jobId: jobIds.recharge(item.id, item.attempt), attempts: 1, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED },
      );
    }
  }
  return items.length;
}

/** Queues an event's delivery, or sees how the queued one is doing (see the header). */
async function relayEventDelivery(services: Services, outboxId: number, eventId: number, attempt: number): Promise<void> {
  const { moneyIn, queues, config, metrics, log } = services;
  const job = await queues.walletEvents.getJob(jobIds.walletEvent(eventId));
  const state = job === undefined ? 'missing' : await job.getState();
  // Finished: delivered (or nothing to deliver), or its attempts used up (counted as it failed).
  if (state === 'completed' || state === 'failed') {
    await moneyIn.outboxDone(outboxId);
    return;
  }
  if (state === 'missing' || state === 'unknown') {
    // The first claim queues it; a later one finding no job means Redis lost it, unless it
    // finished and was trimmed (KEEP_COMPLETED): the new job then finds the event delivered.
    if (attempt > 1) {
      metrics.moneyOutboxRetries.inc({ task: 'deliver_event', reason: 'job_lost' });
      log.warn({ outboxId, eventId, attempt }, 'wallet event delivery job missing before it finished: queued again');
    }
    await queues.walletEvents.add('deliver', { eventId, outboxId }, walletEventJobOptions(config, eventId));
  }
  await moneyIn.outboxDefer(outboxId, config.walletEvents.outboxLeaseSeconds);
}

export function startMoneyInWorkers(services: Services) {
  const { config, log, metrics } = services;
  const opts = (name: string, queueName: string) => ({
    connection: createRedis(config.redis, 'blocking', name),
    prefix: services.keys.bullPrefixFor(queueName),
    lockDuration: config.limits.jobLockMs,
    stalledInterval: config.limits.jobLockMs,
  });
  const eventOpts = opts('wallet-event-worker', QUEUE_NAMES.walletEvents);
  const events = new Worker<WalletEventJob>(
    QUEUE_NAMES.walletEvents,
    async (job: Job<WalletEventJob>) => {
      const outcome = await deliverWalletEvent({ moneyIn: services.moneyIn, metrics, log, timeoutMs: config.walletEvents.deliveryTimeoutMs, sandbox: config.sandbox.enabled }, job.data.eventId);
      // Spares the relay a later look; if this fails, the relay sees the job completed instead.
      if (job.data.outboxId !== undefined) {
        await services.moneyIn.outboxDone(job.data.outboxId).catch((err: unknown) => log.warn({ outboxId: job.data.outboxId, err: (err as Error).message }, 'wallet event delivered; its outbox row is left to the relay'));
      }
      return { outcome };
    },
    { ...eventOpts, concurrency: 8 },
  );
  const rechargeOpts = opts('auto-recharge-worker', QUEUE_NAMES.autoRecharges);
  const recharges = new Worker<AutoRechargeJob>(
    QUEUE_NAMES.autoRecharges,
    // Whatever the step, the outbox row says what comes next; a job that throws is not retried
    // by BullMQ (attempts: 1): its row's lease lapses and the relay claims it again.
    async (job: Job<AutoRechargeJob>) => runAutoRecharge({ config, moneyIn: services.moneyIn, stripe: services.stripe, metrics, log }, job.data),
    { ...rechargeOpts, concurrency: 4 },
  );
  for (const w of [events, recharges]) w.on('error', (err) => log.error({ worker: w.name, err: err.message }, 'money-in worker error'));
  events.on('failed', () => metrics.jobRetries.inc({ queue: QUEUE_NAMES.walletEvents }));

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      // Drain while full batches come back, then wait for the next poll.
      while (!stopped && (await relayOutbox(services)) === OUTBOX_BATCH);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'money outbox relay failed; retrying at the next poll');
    }
    if (!stopped) timer = setTimeout(() => void tick(), config.walletEvents.outboxPollMs);
  };
  void tick();
  return {
    events,
    recharges,
    async close(deadlineMs: number) {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([
        closeWorker(events, eventOpts.connection, deadlineMs, log),
        closeWorker(recharges, rechargeOpts.connection, deadlineMs, log),
      ]);
    },
  };
}
