// Reads the due sets of first renewals as the pump sees them: every key the index names
// (shared/calls/meter-due.ts). For tests and benchmarks that look at the entries themselves.
import { parseDueMember } from '../../shared/calls/meter-due';
import type { CallMeterJob } from '../../shared/queues/queues';
import type { RedisClient, RedisKeys } from '../../shared/redis';
import type { Services } from '../../shared/process/services';
import { createFundedOrg } from './context';

export interface DueEntry {
  /** The due key's tag (keys.meterDueOfTag(tag)). */
  tag: string;
  member: string;
  score: number;
}

/** Every entry of every indexed due key, lowest score first. */
export async function allDueEntries(redis: RedisClient, keys: RedisKeys): Promise<DueEntry[]> {
  const tags = await redis.zrange(keys.meterDueIndex, 0, -1);
  const out: DueEntry[] = [];
  for (const tag of tags) {
    const flat = await redis.zrange(keys.meterDueOfTag(tag), 0, -1, 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2) out.push({ tag, member: flat[i] ?? '', score: Number(flat[i + 1]) });
  }
  return out.sort((a, b) => a.score - b.score);
}

/** A funded organisation whose wallet Redis already caches (so an admission takes the Redis path). */
export async function createCachedOrg(services: Services, balance: number): Promise<string> {
  const orgId = await createFundedOrg(services, balance);
  const snap = await services.calls.store.gateSnapshot(orgId);
  if (snap.outcome !== 'found') throw new Error('no snapshot');
  await services.calls.hot.fill(orgId, snap);
  return orgId;
}

/** The due entries of one call (every indexed key). */
export async function dueEntriesOf(services: Services, callId: string): Promise<DueEntry[]> {
  return (await allDueEntries(services.redis, services.keys)).filter((e) => parseDueMember(e.member)?.callId === callId);
}

/**
 * Places a metered hold at `nowMs` through the real admission script (hot.decide, on the
 * service's own terms) and returns its first renewal's due entry and the job it stands for.
 */
export async function admitMeteredAt(services: Services, orgId: string, callId: string, nowMs: number): Promise<{ member: string; job: CallMeterJob }> {
  const { config } = services;
  const terms = {
    ratePerMinute: config.pricing.callRatePerMinute,
    minBalance: config.pricing.callMinBalance,
    safetyMarginSeconds: config.callGate.safetyMarginSeconds,
    holdGraceSeconds: config.callGate.holdGraceSeconds,
    policy: 'metered' as const,
    holdSeconds: config.callGate.holdSeconds,
  };
  const decided = await services.calls.hot.decide(orgId, callId, terms, nowMs);
  if (decided.outcome !== 'held') throw new Error(`admission of ${callId} not held: ${decided.outcome}`);
  const [entry] = await dueEntriesOf(services, callId);
  const job = parseDueMember(entry?.member ?? '');
  if (!entry || !job) throw new Error(`no due entry for ${callId}`);
  return { member: entry.member, job };
}
