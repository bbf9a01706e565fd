// Moves one BullMQ queue's unfinished jobs from one prefix to another: the same-named queue of an
// older key layout into this one's (shared/migrate-key-layout.ts, `launch.ts migrate-redis`).
// Each job is written to the new queue before it is removed from the old one, so a run cut short
// loses nothing: at worst a job is in both for a moment, and every processor is safe to run twice
// (docs/operations.md, "Starting"). Job ids are how the service deduplicates, so each keeps its
// id, and a job the new processes already wrote under that id is the one that stays.
import { join } from 'node:path';
import type { Job, JobsOptions, JobType, Queue } from 'bullmq';
import { loadLuaScript } from '../load-lua-script';
import type { RedisClient } from '../redis';

/** Either side of the move: the old queue is only read and emptied, the new one only added to. */
export type AnyQueue = Queue<unknown, unknown, string>;
type AnyJob = Job<unknown, unknown, string>;

/** What a queue's move did. */
export interface QueueMove {
  queue: string;
  /**
   * Jobs an old worker was running when the move began: nothing is moved from such a queue (a
   * job taken from under a running processor would run twice at once, and its outcome would be
   * written to the old keys).
   */
  active: number;
  /** Waiting, paused, prioritized and delayed jobs added to the new queue (to wait, or to wait out their delay). */
  moved: number;
  /** Failed jobs now in the new queue's failed set, as they were. */
  failedKept: number;
  /** Jobs whose id the new queue already had: the new processes' job stays, the old one goes. */
  alreadyThere: number;
  /**
   * Job schedulers removed, with the jobs of theirs waiting to run: the new workers assert the
   * same schedules under the new layout at start.
   */
  schedulesDropped: number;
  /** Jobs still in the old queue afterwards (taken by an old worker meanwhile, or waiting on children). */
  left: number;
  /** The old queue's keys: `deleted` once it was empty, `none` if it had none, `kept` otherwise. */
  oldKeys: 'deleted' | 'none' | 'kept';
}

/** Jobs read per page. */
export const MOVE_PAGE = 200;

// 'waiting' includes a paused queue's jobs: BullMQ 6 (the previous release's too) pauses a queue
// by a flag in its meta and leaves them in its wait list (pause-7.lua).
const PENDING: readonly JobType[] = ['waiting', 'prioritized', 'delayed'];
const UNFINISHED: readonly JobType[] = ['active', ...PENDING, 'failed', 'waiting-children'];

// BullMQ scores its delayed set with the due time in ms times 0x1000, the low bits ordering jobs
// due in the same ms (its getDelayedScore.lua).
const DELAYED_SCORE_SCALE = 0x1000;

// Writes a failed job into the new queue as it was, in one step (its header says why), read once
// at module load.
const FAILED_JOB_COPY = loadLuaScript(join(__dirname, 'failed-job-copy-2.lua'));
type Commands = { failedJobCopy(jobKey: string, failedKey: string, jobId: string, finishedOn: number, ...fields: string[]): Promise<number> };

function withCommands(redis: RedisClient): RedisClient & Commands {
  if (!('failedJobCopy' in redis)) redis.defineCommand('failedJobCopy', FAILED_JOB_COPY);
  return redis as RedisClient & Commands;
}

type Outcome = 'moved' | 'already' | 'schedule' | 'vanished';

/**
 * Moves `from`'s jobs to `to` (the same queue name under another prefix): waiting, paused,
 * prioritized and delayed jobs are added to `to` (a delayed one keeps its due time), failed
 * ones are kept as failed; each is then removed from `from`, and `from` is obliterated once
 * nothing unfinished is left in it. A queue with active jobs is left as it is.
 */
export async function moveQueueJobs(redis: RedisClient, from: AnyQueue, to: AnyQueue, now: () => number = Date.now): Promise<QueueMove> {
  const move: QueueMove = { queue: from.name, active: 0, moved: 0, failedKept: 0, alreadyThere: 0, schedulesDropped: 0, left: 0, oldKeys: 'none' };
  if (!(await hasKeys(redis, from))) return move;
  move.active = await from.getActiveCount();
  if (move.active > 0) return { ...move, oldKeys: 'kept' };

  move.schedulesDropped = await dropSchedules(from);
  for (const state of PENDING) {
    await eachJob(from, state, async (job) => tally(move, 'moved', await moveJob(to, job, await dueAtOf(redis, from, job, state), now)));
  }
  await eachJob(from, 'failed', async (job) => tally(move, 'failedKept', await keepFailed(redis, from, to, job)));

  move.left = await unfinishedCount(from);
  if (move.left > 0) return { ...move, oldKeys: 'kept' };
  await from.obliterate();
  return { ...move, oldKeys: 'deleted' };
}

/** Does the queue have any of its own keys (a queue never used has none: nothing to read or delete)? */
async function hasKeys(redis: RedisClient, queue: AnyQueue): Promise<boolean> {
  return (await redis.exists(...Object.values(queue.keys))) > 0;
}

/**
 * Removes the queue's job schedulers with their next jobs. Their jobs are ticks of a schedule
 * (the sweeps, the rent run), not work of their own, and the new workers keep the same schedules
 * under the new layout; moved, a tick would only run once more.
 */
async function dropSchedules(queue: AnyQueue): Promise<number> {
  const schedulers = await queue.getJobSchedulers(0, -1);
  await Promise.all(schedulers.map((s) => queue.removeJobScheduler(s.key)));
  return schedulers.length;
}

/**
 * Hands every job of one state to `handle`, a page at a time, and removes it from the queue once
 * `handle` has written it to the new one. A job that cannot be removed (an old worker took it
 * meanwhile) stays where it was, so the next page starts after those left behind.
 */
async function eachJob(queue: AnyQueue, state: JobType, handle: (job: AnyJob) => Promise<void>): Promise<void> {
  for (let behind = 0; ; ) {
    const jobs = await queue.getJobs([state], behind, behind + MOVE_PAGE - 1, true);
    if (jobs.length === 0) return;
    const removed = await Promise.all(
      jobs.map(async (job) => {
        await handle(job);
        return removeFrom(queue, job);
      }),
    );
    behind += removed.filter((r) => !r).length;
  }
}

function tally(move: QueueMove, field: 'moved' | 'failedKept', outcome: Outcome): void {
  if (outcome === 'moved') move[field]++;
  else if (outcome === 'already') move.alreadyThere++;
}

/** False when the job could not be removed: an old worker holds its lock. */
async function removeFrom(queue: AnyQueue, job: AnyJob): Promise<boolean> {
  return job.id === undefined || (await queue.remove(job.id)) === 1;
}

/**
 * The id the job keeps in the new queue. Every job the service adds is named (jobIds in
 * queues.ts); one BullMQ numbered itself cannot keep its number (BullMQ refuses a custom id of
 * digits) and gets a new one.
 */
function keptIdOf(job: AnyJob): string | undefined {
  return job.id === undefined || /^\d+$/.test(job.id) ? undefined : job.id;
}

/** When a job of `state` is due (ms): 0, at once, for any but a delayed one. */
async function dueAtOf(redis: RedisClient, queue: AnyQueue, job: AnyJob, state: JobType): Promise<number> {
  if (state !== 'delayed' || job.id === undefined) return 0;
  // The delayed set's score, not timestamp + delay: a retry waiting out its backoff is due its
  // delay after the try that failed, and its timestamp is when it was first added.
  const score = await redis.zscore(queue.toKey('delayed'), job.id);
  return score === null ? job.timestamp + job.delay : Math.floor(Number(score) / DELAYED_SCORE_SCALE);
}

/**
 * Adds the job to `to` under its id, with what remains of its delay and of its tries. A tick of a
 * schedule is not (dropSchedules says why; removing a scheduler leaves a tick already waiting).
 */
async function moveJob(to: AnyQueue, job: AnyJob, dueAtMs: number, now: () => number): Promise<Outcome> {
  if (job.repeatJobKey !== undefined) return 'schedule';
  const id = keptIdOf(job);
  if (id !== undefined && (await to.getJob(id)) !== undefined) return 'already';
  await to.add(job.name, job.data, optionsOf(job, id, Math.max(0, dueAtMs - now())));
  return 'moved';
}

/**
 * The options the job was added with (queues.ts: attempts, backoff, removeOnComplete,
 * removeOnFail, and a priority if it had one), its id and what is left of its delay. A job
 * cannot be added with the tries it has made, so it gets the tries it has left: a retry keeps
 * its producer's budget (PROVISION_MAX_ATTEMPTS is the count after which a purchase is
 * refunded; a hang-up's step decides its own last try from the count) instead of starting over.
 */
function optionsOf(job: AnyJob, id: string | undefined, delayMs: number): JobsOptions {
  const { attempts = 1, backoff, removeOnComplete, removeOnFail } = job.opts;
  return {
    ...(id === undefined ? {} : { jobId: id }),
    attempts: Math.max(1, attempts - job.attemptsMade),
    ...(backoff === undefined ? {} : { backoff }),
    ...(removeOnComplete === undefined ? {} : { removeOnComplete }),
    ...(removeOnFail === undefined ? {} : { removeOnFail }),
    ...(job.priority > 0 ? { priority: job.priority } : {}),
    delay: delayMs,
  };
}

/**
 * A failed job stays failed in the new queue, every field as it was (reason, stack trace, tries,
 * times), rather than being added again to run: a failed job is a dead letter the operator reads
 * in Bull Board and nobody retries by hand (docs/operations.md, "Bull Board": read-only by
 * decision; runbook, "Refunds"), and the sweepers act on that state themselves (a failed
 * purchase is refunded, a failed renewal or refund retried, a failed delivery's outbox row
 * closed). Re-added, it would run again behind their backs.
 */
async function keepFailed(redis: RedisClient, from: AnyQueue, to: AnyQueue, job: AnyJob): Promise<Outcome> {
  if (job.id === undefined) return 'vanished';
  const fields = await redis.hgetall(from.toKey(job.id));
  if (Object.keys(fields).length === 0) return 'vanished';
  const copied = await withCommands(redis).failedJobCopy(to.toKey(job.id), to.toKey('failed'), job.id, job.finishedOn ?? job.timestamp, ...Object.entries(fields).flat());
  return copied === 1 ? 'moved' : 'already';
}

async function unfinishedCount(queue: AnyQueue): Promise<number> {
  const counts = await queue.getJobCounts(...UNFINISHED);
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
