// Where a sweeper's walk stopped, kept in Redis (workers/walk-pages.ts ResumeStore), so the next
// pass carries on from there in whichever worker process runs it. Losing it costs only order:
// a pass that cannot read it starts from the first row, and one that cannot write it is
// followed by a pass from where the one before began.
import type { RedisClient } from '../shared/redis';
import type { Logger } from '../shared/logger';
import type { ResumeStore } from './walk-pages';

/** A cursor no pass has moved for this long is dropped: the next pass starts from the first row. */
export const SWEEP_CURSOR_TTL_SECONDS = 86_400;

/** A resume cursor that is a row's text key (e.g. a call id), under `key`. */
export function redisSweepCursor(redis: RedisClient, key: string, log: Logger): ResumeStore<string> {
  return {
    async load() {
      try {
        return await redis.get(key);
      } catch (err) {
        log.warn({ key, err: (err as Error).message }, 'sweep cursor unreadable; this pass starts from the first row');
        return null;
      }
    },
    async save(cursor) {
      try {
        if (cursor === null) await redis.del(key);
        else await redis.set(key, cursor, 'EX', SWEEP_CURSOR_TTL_SECONDS);
      } catch (err) {
        log.warn({ key, err: (err as Error).message }, 'sweep cursor not saved; the next pass repeats this one');
      }
    },
  };
}
