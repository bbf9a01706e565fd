// Moves the entries of a due set of the one-key layout (the release before Redis Cluster kept
// every first renewal in `<p>:meters:due`) into the sharded due keys (meter-due.ts), for
// `launch.ts migrate-redis` (shared/migrate-key-layout.ts). An entry's member is the same in both
// layouts (parseDueMember), so it moves as it is, with its score (its due time, or the end of the
// lease an old pump claimed it under: the new pump claims it once that has passed).
import type { RedisClient, RedisKeys } from '../redis';
import { parseDueMember, type MeterDue } from './meter-due';

export interface DueSetMove {
  /** Entries now in their organisation's due key. */
  moved: number;
  /** Entries the due key already held (a run cut short after writing them): left as they are there. */
  alreadyThere: number;
  /** Entries no parser reads (not written by this service's script): dropped, as the pump drops them. */
  dropped: number;
  /** The old key is gone (Redis drops a sorted set with its last member). */
  oldKeyGone: boolean;
}

/** Entries read per page. */
export const DUE_MOVE_PAGE = 500;

interface Entry {
  member: string;
  score: string;
  orgId: string | undefined;
}

/**
 * Moves every entry of the sorted set `from` into keys.meterDue(its organisation), then removes
 * it from `from`. Each page's due keys are indexed before any entry is written to them (as an
 * admission does: meter-due.ts), so the pump finds every entry moved.
 */
export async function moveDueSet(redis: RedisClient, keys: RedisKeys, due: MeterDue, from: string): Promise<DueSetMove> {
  const move: DueSetMove = { moved: 0, alreadyThere: 0, dropped: 0, oldKeyGone: false };
  for (;;) {
    const page = entriesOf(await redis.zrange(from, 0, DUE_MOVE_PAGE - 1, 'WITHSCORES'));
    if (page.length === 0) break;
    const valid = page.filter((e): e is Entry & { orgId: string } => e.orgId !== undefined);
    await indexDueKeys(keys, due, valid);
    const added = await Promise.all(valid.map((e) => redis.zadd(keys.meterDue(e.orgId), 'NX', e.score, e.member)));
    await redis.zrem(from, ...page.map((e) => e.member));
    move.moved += added.filter((n) => n === 1).length;
    move.alreadyThere += added.filter((n) => n !== 1).length;
    move.dropped += page.length - valid.length;
  }
  return { ...move, oldKeyGone: (await redis.exists(from)) === 0 };
}

/** ZRANGE … WITHSCORES's flat answer as entries, each with its organisation (undefined: malformed). */
function entriesOf(flat: string[]): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const member = flat[i] ?? '';
    entries.push({ member, score: flat[i + 1] ?? '0', orgId: parseDueMember(member)?.orgId });
  }
  return entries;
}

/** Indexes the due key of each of these entries' organisations, once per key. */
async function indexDueKeys(keys: RedisKeys, due: MeterDue, entries: Array<{ orgId: string }>): Promise<void> {
  const orgOfTag = new Map(entries.map((e) => [keys.meterDueTag(e.orgId), e.orgId]));
  await Promise.all([...orgOfTag.values()].map((orgId) => due.index(orgId)));
}
