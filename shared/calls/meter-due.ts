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
// key, `…:meters:due:{tag}` (shared/redis.ts redisKeys). The index `keys.meterDueIndex` (a set of
// tags) names every due key that may hold entries: the admission adds its tag before its script
// runs (redis-holds.ts), and nothing ever removes one, so no entry is written to a key the pump
// does not know. An indexed key whose set is empty costs the pump one empty claim per run.
import { join } from 'node:path';
import { loadLuaScript } from '../load-lua-script';
import type { CallMeterJob } from '../queues/queues';
import type { RedisClient, RedisKeys } from '../redis';

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

type Commands = {
  meterDueClaim(key: string, nowMs: number, horizonMs: number, leaseMs: number, limit: number): Promise<string[]>;
};

function withCommands(redis: RedisClient): RedisClient & Commands {
  if (!('meterDueClaim' in redis)) redis.defineCommand('meterDueClaim', METER_DUE_CLAIM);
  return redis as RedisClient & Commands;
}

export function createMeterDue(redis: RedisClient, keys: RedisKeys) {
  const r = withCommands(redis);
  const key = keys.meterDueOfTag;
  return {
    /** The tags of every due key that may hold entries (the index; empty keys included). */
    tags: (): Promise<string[]> => redis.smembers(keys.meterDueIndex),
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
      const tags = await redis.smembers(keys.meterDueIndex);
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
     * Puts the organisation's due key in the index again (idempotent). The meter sweep does, for a
     * renewal it finds waiting: an index that lost a tag (a failover to a replica that had not yet
     * received the SADD, an operator's delete) would otherwise hide that key from the pump while
     * the sweep kept counting its renewal as present.
     */
    index: async (orgId: string): Promise<void> => void (await redis.sadd(keys.meterDueIndex, keys.meterDueTag(orgId))),
  };
}

export type MeterDue = ReturnType<typeof createMeterDue>;
