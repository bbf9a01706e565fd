// Money in (issue 11): delivers wallet events to customers' webhooks, runs auto-recharges, and
// relays the SQL outbox (money_outbox, written in the transaction of each money movement) into
// those two queues, and (issue 24) a credit's retry of past-due rents into the rentals queue. The relay polls every MONEY_OUTBOX_POLL_MS; a claimed row is leased, queued
// under a deterministic job id (so a second relay of it is a no-op), then marked done.
import { Worker, type Job } from 'bullmq';
import { createRedis } from '../shared/redis';
import { runAutoRecharge } from '../shared/money-in/auto-recharge';
import { deliverWalletEvent } from '../shared/money-in/event-delivery';
import type { Services } from '../shared/process/services';
import { jobIds, KEEP_COMPLETED, KEEP_FAILED, QUEUE_NAMES, rentalJobOptions, walletEventJobOptions, type AutoRechargeJob, type WalletEventJob } from '../shared/queues/queues';
import { closeWorker } from './close-worker';

export const OUTBOX_BATCH = 100;
export const OUTBOX_LEASE_SECONDS = 30;
const RECHARGE_ATTEMPTS = 5;

export async function relayOutbox(services: Services): Promise<number> {
  const { moneyIn, queues, config } = services;
  const items = await moneyIn.claimOutbox(OUTBOX_BATCH, OUTBOX_LEASE_SECONDS);
  for (const item of items) {
    if (item.task === 'deliver_event' && item.event_id !== null) {
      await queues.walletEvents.add('deliver', { eventId: item.event_id }, walletEventJobOptions(config, item.event_id));
    } else if (item.task === 'retry_rent') {
      await queues.rentals.add('retry', { task: 'org', orgId: item.org_id }, rentalJobOptions(jobIds.rentRetry(item.id)));
    } else {
      await queueRecharge(services, item.org_id, `outbox-${item.id}`, 0);
    }
    await moneyIn.outboxDone(item.id);
  }
  return items.length;
}

async function queueRecharge(services: Services, orgId: string, why: string, delayMs: number): Promise<void> {
  await services.queues.autoRecharges.add(
    'recharge',
    { orgId },
    { jobId: jobIds.recharge(why), delay: delayMs, attempts: RECHARGE_ATTEMPTS, backoff: { type: 'exponential', delay: 1000, jitter: 0.5 }, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED },
  );
}

export function startMoneyInWorkers(services: Services) {
  const { config, log, metrics } = services;
  const opts = (name: string) => ({
    connection: createRedis(config.redis.url, 'blocking', name),
    prefix: services.keys.bullPrefix,
    lockDuration: config.limits.jobLockMs,
    stalledInterval: config.limits.jobLockMs,
  });
  const eventOpts = opts('wallet-event-worker');
  const events = new Worker<WalletEventJob>(
    QUEUE_NAMES.walletEvents,
    async (job: Job<WalletEventJob>) => ({
      outcome: await deliverWalletEvent({ moneyIn: services.moneyIn, metrics, log, timeoutMs: config.walletEvents.deliveryTimeoutMs }, job.data.eventId),
    }),
    { ...eventOpts, concurrency: 8 },
  );
  const rechargeOpts = opts('auto-recharge-worker');
  const recharges = new Worker<AutoRechargeJob>(
    QUEUE_NAMES.autoRecharges,
    async (job: Job<AutoRechargeJob>) => {
      const step = await runAutoRecharge({ config, moneyIn: services.moneyIn, stripe: services.stripe, metrics, log }, job.data.orgId);
      if (step.outcome === 'cooldown') await queueRecharge(services, job.data.orgId, `cooldown-${job.data.orgId}-${Date.now() + step.retryAfterMs}`, step.retryAfterMs);
      if (step.outcome === 'failed' && step.retryAfterMs !== undefined) await queueRecharge(services, job.data.orgId, `after-${step.topUpId}`, step.retryAfterMs);
      return step;
    },
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
