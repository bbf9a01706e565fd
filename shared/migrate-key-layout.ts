// `launch.ts migrate-redis`: moves the pending work of the previous release's Redis key layout
// into this one's (shared/redis.ts redisKeys; docs/operations.md, "Redis Cluster"), so an upgrade
// needs no drain. One shot, safe to run again and beside the new processes (they write only new
// keys; every write here keeps a job's id or an entry's member, which they deduplicate on).
// It lives beside redis.ts, whose layout it moves to, as shared/db/migrate.ts (the `migrate`
// role) lives with the database; it takes in both the queues and the due set.
import { Queue } from 'bullmq';
import type { Config } from './config';
import type { Logger } from './logger';
import { createMeterDue } from './calls/meter-due';
import { moveDueSet, type DueSetMove } from './calls/meter-due-move';
import { moveQueueJobs, type AnyQueue, type QueueMove } from './queues/move-queue-jobs';
import { QUEUE_NAMES, type QueueName } from './queues/queues';
import { createRedis, redisKeys, waitForRedis, type RedisClient, type RedisKeys } from './redis';

/**
 * The keys of the last release before the Cluster layout (git 463ae9d, shared/redis.ts): every
 * queue under one prefix, `<p>:bull:<queue>:…`, and one due set of first renewals.
 */
export function oldLayoutKeys(prefix: string) {
  return { bullPrefix: `${prefix}:bull`, meterDue: `${prefix}:meters:due` };
}

export interface KeyLayoutMigrationDeps {
  redis: RedisClient;
  keys: RedisKeys;
  /** REDIS_CLUSTER_NODES is set: the old queues cannot be there, nor be read (see migrateQueues). */
  onCluster: boolean;
  log: Logger;
}

export type QueueOutcome = QueueMove | { queue: QueueName; error: string };

export interface KeyLayoutMigration {
  queues: QueueOutcome[] | 'skipped_on_cluster';
  due: DueSetMove | { error: string };
  /** Everything pending in the old layout is in the new one and the old keys are gone. */
  complete: boolean;
}

/** How long one Redis command of the move may take: obliterating a large old queue is one script per 1,000 jobs. */
export const MIGRATION_COMMAND_TIMEOUT_MS = 30_000;
const REDIS_READY_WAIT_MS = 5000;

/** The command as launch.ts runs it: its own connection to the configured Redis or Cluster. */
export async function migrateRedisKeyLayout(config: Config, log: Logger): Promise<KeyLayoutMigration> {
  const redis = createRedis(config.redis, 'fail-fast', 'migrate-redis', { commandTimeout: MIGRATION_COMMAND_TIMEOUT_MS });
  try {
    await waitForRedis(redis, REDIS_READY_WAIT_MS);
    return await migrateKeyLayout({ redis, keys: redisKeys(config.redis.keyPrefix), onCluster: config.redis.clusterNodes !== undefined, log });
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** Moves the queues, then the due set; logs one line for each queue and one for the due set. */
export async function migrateKeyLayout(d: KeyLayoutMigrationDeps): Promise<KeyLayoutMigration> {
  const queues = await migrateQueues(d);
  const due = await migrateDueSet(d);
  const complete = (queues === 'skipped_on_cluster' || queues.every(isComplete)) && !('error' in due);
  if (complete) d.log.info('migrate-redis: the old key layout holds no pending work');
  else d.log.error('migrate-redis: not everything moved (the lines above say what); run it again');
  return { queues, due, complete };
}

const isComplete = (q: QueueOutcome): boolean => !('error' in q) && q.active === 0 && q.left === 0;

/**
 * Each queue of QUEUE_NAMES, one after the other. Not on a cluster: the old layout refused to
 * run on one, so its queues were never there; and BullMQ on the old prefix (no hash tag) spreads
 * one queue's keys over many slots, so a cluster refuses its scripts and multi-key commands
 * (CROSSSLOT, "non local key"): the move would fail on every queue instead of finding nothing.
 */
async function migrateQueues(d: KeyLayoutMigrationDeps): Promise<QueueOutcome[] | 'skipped_on_cluster'> {
  if (d.onCluster) {
    d.log.info('migrate-redis: queues skipped on a Redis Cluster: the old layout never ran on one, and a cluster refuses BullMQ on its unhashed prefix (CROSSSLOT)');
    return 'skipped_on_cluster';
  }
  const outcomes: QueueOutcome[] = [];
  for (const name of Object.values(QUEUE_NAMES)) outcomes.push(await migrateQueue(d, name));
  return outcomes;
}

async function migrateQueue(d: KeyLayoutMigrationDeps, name: QueueName): Promise<QueueOutcome> {
  // The old queue only read and emptied: no meta written (the constructor would), so a second run
  // leaves no key behind in the old layout.
  const from: AnyQueue = new Queue(name, { connection: d.redis, prefix: oldLayoutKeys(d.keys.prefix).bullPrefix, skipMetasUpdate: true });
  const to: AnyQueue = new Queue(name, { connection: d.redis, prefix: d.keys.bullPrefixFor(name) });
  for (const q of [from, to]) q.on('error', () => undefined); // surfaced on the calls that fail
  try {
    const move = await moveQueueJobs(d.redis, from, to);
    logQueueMove(d.log, move);
    return move;
  } catch (err) {
    d.log.error({ queue: name, err: (err as Error).message }, 'migrate-redis: queue not moved');
    return { queue: name, error: (err as Error).message };
  } finally {
    await Promise.allSettled([from.close(), to.close()]);
  }
}

function logQueueMove(log: Logger, move: QueueMove): void {
  if (move.active > 0) {
    log.error({ ...move }, 'migrate-redis: queue has active jobs in the old layout, nothing moved from it: stop the old workers (or let them finish) and run it again');
  } else if (move.left > 0) {
    log.warn({ ...move }, 'migrate-redis: queue moved, but jobs are left in the old layout (taken by an old worker meanwhile): run it again');
  } else {
    log.info({ ...move }, 'migrate-redis: queue moved');
  }
}

async function migrateDueSet(d: KeyLayoutMigrationDeps): Promise<DueSetMove | { error: string }> {
  const from = oldLayoutKeys(d.keys.prefix).meterDue;
  try {
    const move = await moveDueSet(d.redis, d.keys, createMeterDue(d.redis, d.keys), from);
    if (move.dropped > 0) d.log.warn({ dueSet: from, ...move }, 'migrate-redis: due set moved; unreadable entries dropped');
    else d.log.info({ dueSet: from, ...move }, 'migrate-redis: due set moved');
    return move;
  } catch (err) {
    d.log.error({ dueSet: from, err: (err as Error).message }, 'migrate-redis: due set not moved');
    return { error: (err as Error).message };
  }
}
