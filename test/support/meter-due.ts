// Reads the due sets of first renewals as the pump sees them: every key the index names
// (shared/calls/meter-due.ts). For tests and benchmarks that look at the entries themselves.
import type { RedisClient, RedisKeys } from '../../shared/redis';

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
