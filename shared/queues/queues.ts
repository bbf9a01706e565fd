// Queue names, typed payloads and job options: the one place producers (API) and consumers
// (workers) agree on what a job is. Every queue lives under the process's Redis key prefix, so a
// test file (or a second deployment on one Redis) never shares a queue with another.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../config';
import { settingUpAgain } from './queue-backend';

export const QUEUE_NAMES = {
  provisioning: 'provisioning',
  refunds: 'refunds',
  callBilling: 'call-billing',
  maintenance: 'maintenance',
  callMeters: 'call-meters',
  walletEvents: 'wallet-events',
  autoRecharges: 'auto-recharges',
  rentals: 'rentals',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** Job data is stored in clear text in Redis: ids only, never secrets or personal data. */
export interface ProvisioningJob {
  requestId: string;
}
export interface RefundJob {
  requestId: string;
}
export interface CallBillingJob {
  callId: string;
}
/**
 * A metered call's next step: `renew` asks for slice `slice` before the held seconds run out;
 * `hangup` ends the call if it is still on when the seconds it holds are used up (retried with
 * backoff until it has, hangupJobOptions). The call's
 * fixed facts travel with the job, so a job can write the call's durable record when the
 * gate's batched record never arrived. Ids and numbers only: the control URL is looked up.
 */
export interface CallMeterJob {
  /** `stop`: the wallet was frozen: say why (endCallAfterSpoken), then `hangup` shortly after. */
  kind: 'renew' | 'hangup' | 'stop';
  /** Makes the job id of a `stop` (and its `hangup`) unique per freeze: the wallet version. */
  tag?: string;
  callId: string;
  orgId: string;
  slice: number;
  admittedAtMs: number;
  maxDurationSeconds: number;
  expiresAtMs: number;
  cap: number;
  /** When the step is due (ms since the epoch), for the lateness metric. */
  dueAtMs: number;
}
/** Deliver one stored wallet event to the organisation's webhook (money in, issue 11). */
export interface WalletEventJob {
  eventId: number;
  /** The outbox row that queued it, marked done when the job finishes (absent on older jobs). */
  outboxId?: number;
}
/**
 * Carries one attempt of a "recharge wanted" outbox row (claim, then at most one off-session
 * PaymentIntent). The row in Postgres is the schedule: the job never retries itself, and a lost
 * job only lets the row's lease lapse (workers/money-in-worker.ts).
 */
export interface AutoRechargeJob {
  orgId: string;
  outboxId: number;
  attempt: number;
}
/**
 * Monthly number rental (issue 24): `sweep` charges every number whose month has begun and
 * re-drives unfinished releases (the job scheduler, and after the sandbox clock moves), from
 * `after` (a number id) when it continues a run that reached its page limit; `org`
 * tries one organisation's past-due numbers again after a credit (the money outbox relays it).
 */
export type RentalJob = { task: 'sweep'; after?: string } | { task: 'org'; orgId: string; after?: string };
export interface MaintenanceJob {
  task: 'sweep-provisioning' | 'sweep-calls' | 'sample-queues' | 'reconcile-numbers' | 'stripe-catch-up';
}

/** BullMQ job ids may not contain ':' nor be all digits. */
export const jobIds = {
  provisioning: (requestId: string) => `provision-${requestId}`,
  refund: (requestId: string) => `refund-${requestId}`,
  callBilling: (callId: string) => `call-${callId.replace(/:/g, '_')}`,
  meter: (callId: string, slice: number) => `meter-${callId.replace(/:/g, '_')}-${slice}`,
  hangup: (callId: string, tag?: string) => `hangup-${callId.replace(/:/g, '_')}${tag === undefined ? '' : `-${tag}`}`,
  stop: (callId: string, tag: string) => `stop-${callId.replace(/:/g, '_')}-${tag}`,
  walletEvent: (eventId: number) => `wallet-event-${eventId}`,
  recharge: (outboxId: number, attempt: number) => `recharge-outbox-${outboxId}-${attempt}`,
  rentRetry: (outboxId: number) => `rent-retry-${outboxId}`,
  rentSweep: (why: string) => `rent-sweep-${why.replace(/:/g, '_')}`,
};

/** Rent runs are safe to repeat: a few retries with backoff, then the next run of the schedule. */
export function rentalJobOptions(jobId: string): JobsOptions {
  return {
    jobId,
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/** Customer webhooks: retried with exponential backoff until a 2xx, within the configured attempts. */
export function walletEventJobOptions(config: Config, eventId: number): JobsOptions {
  return {
    jobId: jobIds.walletEvent(eventId),
    attempts: config.walletEvents.deliveryAttempts,
    backoff: { type: 'exponential', delay: config.walletEvents.deliveryBackoffMs, jitter: 0.2 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/** Limits on what Redis keeps: enough history for Bull Board, bounded so Redis cannot fill up. */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 1000 };
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5000 };

export function provisioningJobOptions(config: Config, requestId: string): JobsOptions {
  return {
    jobId: jobIds.provisioning(requestId),
    attempts: config.provisioning.maxAttempts,
    backoff: { type: 'exponential', delay: config.provisioning.backoffMs, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/** Refunds and call charges must eventually succeed: many attempts, capped backoff. */
export const MONEY_JOB_ATTEMPTS = 20;
export function moneyJobOptions(jobId: string): JobsOptions {
  return {
    jobId,
    attempts: MONEY_JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/** Meter steps are due at a moment: a few quick retries, then the sweeper re-creates them. */
export function meterJobOptions(jobId: string, delayMs: number): JobsOptions {
  return {
    jobId,
    delay: Math.max(0, Math.round(delayMs)),
    attempts: 5,
    backoff: { type: 'exponential', delay: 200, jitter: 0.5 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/**
 * A hang-up (end-call) is retried until it is known to have happened: CALL_HANGUP_ATTEMPTS tries,
 * CALL_HANGUP_BACKOFF_MS doubling between them, less up to a fifth (jitter: the hang-ups of a
 * freeze, all due at once, do not retry in lockstep against a recovering Vapi). Its step decides its own last try (it counts an unendable call and completes), so a hang-up
 * job never ends in the failed set.
 */
export function hangupJobOptions(config: Pick<Config['callGate'], 'hangupAttempts' | 'hangupBackoffMs'>, jobId: string, delayMs: number): JobsOptions {
  return {
    jobId,
    delay: Math.max(0, Math.round(delayMs)),
    attempts: config.hangupAttempts,
    backoff: { type: 'exponential', delay: config.hangupBackoffMs, jitter: 0.2 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

export interface Queues {
  provisioning: Queue<ProvisioningJob>;
  refunds: Queue<RefundJob>;
  callBilling: Queue<CallBillingJob>;
  maintenance: Queue<MaintenanceJob>;
  callMeters: Queue<CallMeterJob>;
  walletEvents: Queue<WalletEventJob>;
  autoRecharges: Queue<AutoRechargeJob>;
  rentals: Queue<RentalJob>;
  all(): Queue[];
  close(): Promise<void>;
}

/**
 * `prefixFor` is keys.bullPrefixFor (shared/redis.ts): each queue's prefix is a hash tag of its
 * own, so on Redis Cluster all of one queue's keys share a slot (BullMQ's scripts need that).
 */
export function createQueues(connection: ConnectionOptions, prefixFor: (queueName: QueueName) => string): Queues {
  // Each queue's connection is set up again if its set-up failed (queue-backend.ts says why).
  const queue = <T>(name: QueueName) => new Queue<T>(name, { connection, prefix: prefixFor(name) }, settingUpAgain);
  const q = {
    provisioning: queue<ProvisioningJob>(QUEUE_NAMES.provisioning),
    refunds: queue<RefundJob>(QUEUE_NAMES.refunds),
    callBilling: queue<CallBillingJob>(QUEUE_NAMES.callBilling),
    maintenance: queue<MaintenanceJob>(QUEUE_NAMES.maintenance),
    callMeters: queue<CallMeterJob>(QUEUE_NAMES.callMeters),
    walletEvents: queue<WalletEventJob>(QUEUE_NAMES.walletEvents),
    autoRecharges: queue<AutoRechargeJob>(QUEUE_NAMES.autoRecharges),
    rentals: queue<RentalJob>(QUEUE_NAMES.rentals),
  };
  const all = () => [q.provisioning, q.refunds, q.callBilling, q.maintenance, q.callMeters, q.walletEvents, q.autoRecharges, q.rentals] as Queue[];
  for (const queue of all()) queue.on('error', () => undefined); // surfaced on the calls that fail
  return { ...q, all, close: async () => void (await Promise.allSettled(all().map((x) => x.close()))) };
}
