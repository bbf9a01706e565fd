// The due sets of first renewals (keys.meterDue(orgId), docs/call-gate.md "Hold lifecycle"). A
// metered call admitted on the Redis path gets its slice-2 renewal written by the admission's own
// Lua step (call_gate_decide in redis-holds.ts), so answer and meter are one atomic step: an API
// process that dies after answering loses no meter, and the hot path pays one ZADD instead of a
// BullMQ job. The meter pump (workers/meter-pump.ts) turns entries that are nearly due into the
// same delayed `renew` jobs the meter always used, under a lease: a pump that dies between its
// claim and its addBulk leaves the entries to be claimed again once the lease runs out.
//
// Sharded by hash slot, on one Redis as on a Cluster (CONTRACT §13): the admission script may
// only touch keys of the organisation's slot, so each slot that has organisations has its own due
// key, `…:meters:due:{tag}` (shared/redis.ts redisKeys). The index `keys.meterDueIndex` (a sorted
// set: tag → when it was last indexed, ms) names every due key that may hold entries: the
// admission indexes its tag (ZADD, awaited) before its script runs (redis-holds.ts), so no entry
// is written to a key the pump does not know. The meter sweep prunes the index (prune() below): a
// tag no one has indexed for DUE_INDEX_IDLE_MS whose key is empty goes, so the pump's claims and
// the sampler's reads follow the slots in use, not every slot that ever had a metered call.
import { join } from 'node:path';
import { loadLuaScript } from '../load-lua-script';
import type { CallMeterJob } from '../queues/queues';
import type { RedisClient, RedisKeys } from '../redis';
import { INDEX_MEMO_MS } from './redis-holds';

/**
 * An entry carries the whole `renew` job, so the pump needs no other read:
 *   1|orgId|slice|admittedAtMs|maxDurationSeconds|expiresAtMs|cap|dueAtMs|callId
 * The leading `1` is the format's version. The call id goes last and is everything after the
 * eighth `|`, so any call id (pipes included) parses back; an org id is a uuid (no pipe).
 * call-gate-decide-5.lua writes the same string: test/calls/meter-due.test.ts proves they agree.
 */
export const DUE_FORMAT = '1';
const FIXED_FIELDS = 8;

/** The due-set member of a slice's renewal (what the admission script writes for slice 2). */
export function dueMember(job: Pick<CallMeterJob, 'orgId' | 'callId' | 'slice' | 'admittedAtMs' | 'maxDurationSeconds' | 'expiresAtMs' | 'cap' | 'dueAtMs'>): string {
  return [DUE_FORMAT, job.orgId, job.slice, job.admittedAtMs, job.maxDurationSeconds, job.expiresAtMs, job.cap, job.dueAtMs, job.callId].join('|');
}

const isWhole = (x: number) => Number.isSafeInteger(x);

/** The `renew` job a member stands for; undefined for a malformed one (dropped by the pump). */
export function parseDueMember(member: string): CallMeterJob | undefined {
  const fields: string[] = [];
  let from = 0;
  for (let i = 0; i < FIXED_FIELDS; i++) {
    const bar = member.indexOf('|', from);
    if (bar < 0) return undefined;
    fields.push(member.slice(from, bar));
    from = bar + 1;
  }
  const callId = member.slice(from);
  const [version, orgId, ...rest] = fields;
  if (version !== DUE_FORMAT || !orgId || callId === '') return undefined;
  const numbers = rest.map((f) => (/^-?\d{1,16}$/.test(f) ? Number(f) : Number.NaN));
  if (!numbers.every(isWhole)) return undefined;
  const [slice, admittedAtMs, maxDurationSeconds, expiresAtMs, cap, dueAtMs] = numbers as [number, number, number, number, number, number];
  return { kind: 'renew', orgId, callId, slice, admittedAtMs, maxDurationSeconds, expiresAtMs, cap, dueAtMs };
}

// Claims nearly due entries of one due key under a lease, in one step (its header says why),
// read once at module load.
const METER_DUE_CLAIM = loadLuaScript(join(__dirname, 'meter-due-claim-1.lua'));
// Removes a tag from the index only if its score has not moved since the prune read it (its
// header says why).
const METER_DUE_UNINDEX = loadLuaScript(join(__dirname, 'meter-due-unindex-1.lua'));

/**
 * How long (ms) a tag must have gone without being indexed before the prune may remove it (its
 * due key empty too). A process writes a due key only within INDEX_MEMO_MS of its own awaited
 * ZADD of the tag, which scores the tag by that process's clock; past that it indexes again
 * before it writes. So once a tag's score is older than INDEX_MEMO_MS + (how far a writer's clock
 * may run behind the sweeper's) + (how long a script sent within the memo may take to reach
 * Redis), no writer's memo of it is still live. The 55 s margin is for that skew and that delay
 * together, each normally milliseconds (NTP; a script goes out in the tick the memo is checked
 * in). A writer delayed past the whole window anyway (a process stalled that long) writes into a
 * key the index may no longer name; the meter sweep finds that renewal waiting and indexes its
 * key again (call-meter.ts ensure()).
 */
export const DUE_INDEX_IDLE_MS = INDEX_MEMO_MS + 55_000;

type Commands = {
  meterDueClaim(key: string, nowMs: number, horizonMs: number, leaseMs: number, limit: number): Promise<string[]>;
  meterDueUnindex(index: string, tag: string, thresholdMs: number): Promise<number>;
};

function withCommands(redis: RedisClient): RedisClient & Commands {
  if (!('meterDueClaim' in redis)) redis.defineCommand('meterDueClaim', METER_DUE_CLAIM);
  if (!('meterDueUnindex' in redis)) redis.defineCommand('meterDueUnindex', METER_DUE_UNINDEX);
  return redis as RedisClient & Commands;
}

/** `clock` scores the index: the one the admissions' INDEX_MEMO_MS runs on (redis-holds.ts). */
export function createMeterDue(redis: RedisClient, keys: RedisKeys, clock: () => number = Date.now) {
  const r = withCommands(redis);
  const key = keys.meterDueOfTag;
  const index = keys.meterDueIndex;
  /** The tag goes only if not indexed again since it was read at or below `thresholdMs`. */
  const unindex = async (tag: string, thresholdMs: number): Promise<boolean> => (await r.meterDueUnindex(index, tag, thresholdMs)) === 1;
  return {
    /** The tags of every due key that may hold entries (the index; empty keys included). */
    tags: (): Promise<string[]> => redis.zrange(index, 0, -1),
    /** Takes up to `limit` entries of the due key `tag` due within `horizonMs`, leased until now + `leaseMs`. */
    claim: (tag: string, nowMs: number, horizonMs: number, leaseMs: number, limit: number): Promise<string[]> => r.meterDueClaim(key(tag), nowMs, horizonMs, leaseMs, limit),
    /** Their jobs exist: the entries are done. */
    async release(tag: string, members: string[]): Promise<void> {
      if (members.length > 0) await redis.zrem(key(tag), ...members);
    },
    /**
     * Their jobs could not be written: back to their due time, so the next run retries them at
     * once rather than after the lease (only entries still present: XX).
     */
    async unclaim(tag: string, entries: Array<{ member: string; dueAtMs: number }>): Promise<void> {
      if (entries.length === 0) return;
      await redis.zadd(key(tag), 'XX', ...entries.flatMap((e) => [e.dueAtMs, e.member]));
    },
    /**
     * How many entries wait in all the due keys, and the lowest score among them (a claimed
     * entry's is its lease's end). Asks every indexed key at once.
     */
    async depth(): Promise<{ entries: number; lowestScoreMs: number | undefined }> {
      const tags = await redis.zrange(index, 0, -1);
      const each = await Promise.all(tags.map((tag) => Promise.all([redis.zcard(key(tag)), redis.zrange(key(tag), 0, 0, 'WITHSCORES')])));
      let entries = 0;
      let lowestScoreMs: number | undefined;
      for (const [count, lowest] of each) {
        entries += count;
        if (lowest[1] !== undefined) lowestScoreMs = Math.min(lowestScoreMs ?? Infinity, Number(lowest[1]));
      }
      return { entries, lowestScoreMs };
    },
    /** Is this organisation's renewal `member` waiting in its due key (claimed or not)? */
    has: async (orgId: string, member: string): Promise<boolean> => (await redis.zscore(keys.meterDue(orgId), member)) !== null,
    /**
     * Puts the organisation's due key in the index again (its score now). The meter sweep does,
     * for a renewal it finds waiting: an index that lost a tag (a failover to a replica that had
     * not yet received the ZADD, an operator's delete, a prune that a writer stalled past
     * DUE_INDEX_IDLE_MS raced) would otherwise hide that key from the pump while the sweep kept
     * counting its renewal as present.
     */
    index: async (orgId: string): Promise<void> => void (await redis.zadd(index, clock(), keys.meterDueTag(orgId))),
    unindex,
    /**
     * Removes from the index the tags not indexed for `idleMs` (DUE_INDEX_IDLE_MS: why it is
     * safe) whose due key is empty; returns how many went. The key is read empty before the
     * removal, which is safe because a writer indexes again (moving the score) before it writes,
     * and `unindex` removes only a tag whose score has not moved.
     */
    async prune(nowMs: number, idleMs: number): Promise<number> {
      const thresholdMs = nowMs - idleMs;
      const idle = await redis.zrangebyscore(index, '-inf', thresholdMs);
      const sizes = await Promise.all(idle.map((tag) => redis.zcard(key(tag))));
      const empty = idle.filter((_, i) => sizes[i] === 0);
      const removed = await Promise.all(empty.map((tag) => unindex(tag, thresholdMs)));
      return removed.filter(Boolean).length;
    },
  };
}

export type MeterDue = ReturnType<typeof createMeterDue>;
