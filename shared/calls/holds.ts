// Amounts held for calls in progress. The call gate (issue 4) places and releases holds; this
// reader is what the wallet endpoint uses for `available = balance − held`.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis';

export interface HoldsReader {
  totalHeld(orgId: string): Promise<number>;
}

// Placeholder until the call gate lands: no call can be admitted yet, so nothing is held.
export function createHoldsReader(_redis: Redis, _keys: RedisKeys): HoldsReader {
  return { totalHeld: async () => 0 };
}
