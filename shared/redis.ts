// ioredis connections, in the two flavours BullMQ's docs call for, and the key names we own.
import { Redis, type RedisOptions } from 'ioredis';

/**
 * - 'blocking': for BullMQ workers and QueueEvents (maxRetriesPerRequest must be null).
 * - 'fail-fast': for HTTP handlers and producers, so a Redis outage is a quick error, not a hung request.
 */
export type RedisRole = 'blocking' | 'fail-fast';

export const REDIS_CONNECT_TIMEOUT_MS = 2000;
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

export function createRedis(url: string, role: RedisRole, name: string, extra: RedisOptions = {}): Redis {
  const base: RedisOptions = { connectionName: `billing-gates:${name}`, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, lazyConnect: false };
  const options: RedisOptions =
    role === 'blocking'
      ? { ...base, maxRetriesPerRequest: null, enableReadyCheck: true }
      : {
          ...base,
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
          // Keep reconnecting in the background, at most every 2 s.
          retryStrategy: (times) => Math.min(times * 100, 2000),
        };
  const client = new Redis(url, { ...options, ...extra });
  // Errors surface on the commands that fail; the event only needs a listener so that a Redis
  // outage is not an unhandled 'error' event that kills the process.
  client.on('error', () => undefined);
  return client;
}

/** Every Redis key this service owns, under one prefix. `{orgId}` is a hash tag: one slot per org. */
export function redisKeys(prefix: string) {
  return {
    prefix,
    wallet: (orgId: string) => `${prefix}:wallet:{${orgId}}`,
    holds: (orgId: string) => `${prefix}:holds:{${orgId}}`,
    number: (lookup: string) => `${prefix}:number:${lookup}`,
    /** A call's Vapi control URL (a secret), learned from its messages. */
    callControl: (callId: string) => `${prefix}:call-control:${callId}`,
    /**
     * Due first renewals of metered calls admitted on the Redis path (sorted set, score = due at
     * ms), written by the admission's own Lua step and drained by the meter pump
     * (shared/calls/meter-due.ts). One key for every organisation, outside the {orgId} hash slot:
     * Redis Cluster would refuse the admission script, and would need one such key per slot
     * (e.g. `…:meters:due:{orgId}` sharded by slot). The service does not run on Cluster.
     */
    meterDue: `${prefix}:meters:due`,
    /** The call id the meter sweep's last pass stopped after (workers/sweep-cursor.ts). */
    meterSweepCursor: `${prefix}:meters:sweep-cursor`,
    /** Unix seconds up to which Stripe's events have been read by the catch-up (stripe-catch-up.ts). */
    stripeCatchUpCursor: `${prefix}:stripe:catch-up-cursor`,
    bullPrefix: `${prefix}:bull`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** Resolves once the client is ready, or rejects after timeoutMs. */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
