// ioredis connections, in the two flavours BullMQ's docs call for, to one Redis or to a Redis
// Cluster (REDIS_CLUSTER_NODES, CONTRACT §13), and the key names we own. Every key is laid out
// for Cluster on either topology (one code path): whatever one Lua script or one BullMQ queue
// touches shares a hash tag, so it lives in one slot.
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './config';

/** A connection as our code holds it: one Redis, or a Redis Cluster (same commands, routed by slot). */
export type RedisClient = Redis | Cluster;

/**
 * - 'blocking': for BullMQ workers and QueueEvents (maxRetriesPerRequest must be null).
 * - 'fail-fast': for HTTP handlers and producers, so a Redis outage is a quick error, not a hung request.
 */
export type RedisRole = 'blocking' | 'fail-fast';

export const REDIS_CONNECT_TIMEOUT_MS = 2000;
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

/** Keep reconnecting in the background, at most every 2 s (fail-fast: the caller never waits on it). */
const failFastRetry = (times: number) => Math.min(times * 100, 2000);

/**
 * A connection to `target`: a Cluster when it names cluster nodes, else one Redis at its URL.
 * `extra` are per-connection options (on a cluster, each node's); its `retryStrategy` becomes the
 * cluster's `clusterRetryStrategy` there.
 */
export function createRedis(target: RedisTarget, role: RedisRole, name: string, extra: RedisOptions = {}): RedisClient {
  const base: RedisOptions = { connectionName: `billing-gates:${name}`, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, lazyConnect: false };
  const options: RedisOptions =
    role === 'blocking'
      ? { ...base, maxRetriesPerRequest: null, enableReadyCheck: true }
      : { ...base, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: REDIS_COMMAND_TIMEOUT_MS, retryStrategy: failFastRetry };
  const client = target.clusterNodes === undefined ? new Redis(target.url, { ...options, ...extra }) : createCluster(target, role, { ...options, ...extra });
  // Errors surface on the commands that fail; the event only needs a listener so that a Redis
  // outage is not an unhandled 'error' event that kills the process.
  client.on('error', () => undefined);
  return client;
}

function createCluster(target: RedisTarget, role: RedisRole, options: RedisOptions): Cluster {
  // ioredis gives each node connection its own offline queue and no reconnect of its own (the
  // cluster reconnects and refreshes its slot map instead), so those two move to the cluster.
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...perNode } = options;
  const cluster: ClusterOptions = {
    redisOptions: { ...perNode, ...credentialsOf(target.url) },
    // The fail-fast role refuses commands while the cluster is not ready, as one Redis does.
    enableOfflineQueue: enableOfflineQueue ?? role === 'blocking',
    enableReadyCheck: true,
    lazyConnect: lazyConnect ?? false,
    // Reads from replicas could see a hold or a balance a moment old: the money path reads its own writes.
    scaleReads: 'master',
    ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
    slotsRefreshTimeout: REDIS_CONNECT_TIMEOUT_MS,
  };
  return new Cluster(
    (target.clusterNodes ?? []).map((n) => ({ host: n.host, port: n.port })),
    cluster,
  );
}

/** REDIS_URL's user, password and TLS (rediss:) apply to every cluster node; its host, port and DB index do not. */
function credentialsOf(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * The servers that hold keys: every master of a cluster, or the one Redis. For the few commands
 * that act on one server rather than on a key (SCAN, SCRIPT LOAD): on a cluster they must go to
 * each master.
 */
export function masterNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * Resolves when Redis can serve: one Redis answers PING; a cluster answers PING and says
 * `cluster_state:ok` (a cluster that lost a master with no replica still answers PING from the
 * others, but serves none of that master's slots).
 */
export async function pingRedis(client: RedisClient): Promise<void> {
  await client.ping();
  if (!(client instanceof Cluster)) return;
  const info = String(await client.cluster('INFO'));
  if (!/^cluster_state:ok\s*$/m.test(info)) throw new Error(`Redis Cluster: ${/^cluster_state:\S+/m.exec(info)?.[0] ?? 'state unknown'}`);
}

/** The slot (0..16383) a key lives in on a cluster (on one Redis: where it would). */
export const slotOf = (key: string): number => calculateSlot(key);

export const SLOT_COUNT = 16384;
let tagsBySlot: string[] | undefined;

/**
 * A short string whose own slot is `slot` (as a hash tag `{tag}`, it puts a key in that slot).
 * The table is made once per process, deterministically (the first base-36 counter value that
 * lands in each slot: 87,573 tries, ~20 ms, tags of at most 4 characters), so every process and
 * every release names the same key for a slot.
 */
export function tagOfSlot(slot: number): string {
  if (!tagsBySlot) {
    const table: string[] = new Array<string>(SLOT_COUNT);
    let filled = 0;
    for (let i = 0; filled < SLOT_COUNT; i++) {
      const tag = i.toString(36);
      const s = calculateSlot(tag);
      if (table[s] === undefined) {
        table[s] = tag;
        filled++;
      }
    }
    tagsBySlot = table;
  }
  const tag = tagsBySlot[slot];
  if (tag === undefined) throw new Error(`no hash slot ${slot} (0..${SLOT_COUNT - 1})`);
  return tag;
}

/**
 * Every Redis key this service owns, under one prefix, laid out for Redis Cluster (the same on
 * one Redis). A Lua script or MULTI touches keys of one hash slot only:
 * - an organisation's keys carry the hash tag `{orgId}`: the wallet hash and the hold keys, which
 *   every hold script takes together;
 * - the due set of first renewals is sharded by slot, one key per slot that has organisations in
 *   it: `meterDue(orgId)` is `…:meters:due:{tag}` with `tag` chosen so that the key shares the
 *   organisation's slot, so the admission script writes it together with the org's keys; the
 *   index `meterDueIndex` (a sorted set of tags) names every due key that may hold entries, for
 *   the pump and the sampler (shared/calls/meter-due.ts);
 * - each BullMQ queue's prefix is a hash tag of its own (`bullPrefixFor`), so one queue's keys
 *   share a slot and the queues spread over the masters;
 * - everything else is read and written one key per command (number cache, call control URLs,
 *   the sweep cursor, rate-limit counters).
 */
export function redisKeys(prefix: string) {
  const wallet = (orgId: string) => `${prefix}:wallet:{${orgId}}`;
  const meterDueOfTag = (tag: string) => `${prefix}:meters:due:{${tag}}`;
  /** The tag of the due key in the slot of this organisation's keys. */
  const meterDueTag = (orgId: string) => tagOfSlot(slotOf(wallet(orgId)));
  return {
    prefix,
    wallet,
    holds: (orgId: string) => `${prefix}:holds:{${orgId}}`,
    number: (lookup: string) => `${prefix}:number:${lookup}`,
    /** A call's Vapi control URL (a secret), learned from its messages. */
    callControl: (callId: string) => `${prefix}:call-control:${callId}`,
    /**
     * The due set of first renewals of metered calls admitted on the Redis path (sorted set,
     * score = due at ms) that holds this organisation's: written by the admission's own Lua step
     * together with the org's hold keys (same slot), drained by the meter pump
     * (shared/calls/meter-due.ts). Organisations of one slot share it.
     */
    meterDue: (orgId: string) => meterDueOfTag(meterDueTag(orgId)),
    meterDueTag,
    meterDueOfTag,
    /**
     * The tags of the due keys (a sorted set, score = when the tag was last indexed, ms). A tag is
     * indexed again before any admission script can write its key, so every due entry is in a key
     * the pump finds; the meter sweep removes a tag idle for DUE_INDEX_IDLE_MS whose key is empty
     * (shared/calls/meter-due.ts prune()), so it holds the slots in use (at most 16,384). No
     * migration from the set it was: that was unreleased code (the Cluster layout has never been
     * deployed). A development Redis still holding the set answers WRONGTYPE: delete the key.
     */
    meterDueIndex: `${prefix}:meters:due-index`,
    /** The call id the meter sweep's last pass stopped after (workers/sweep-cursor.ts). */
    meterSweepCursor: `${prefix}:meters:sweep-cursor`,
    /** Unix seconds up to which Stripe's events have been read by the catch-up (stripe-catch-up.ts). */
    stripeCatchUpCursor: `${prefix}:stripe:catch-up-cursor`,
    /** The older part of a range a catch-up run left for the next (JSON, stripe-catch-up.ts Backlog). */
    stripeCatchUpBacklog: `${prefix}:stripe:catch-up-backlog`,
    /** A BullMQ queue's prefix: `{bull-<queue>}` is a hash tag, so all of one queue's keys share a slot. */
    bullPrefixFor: (queueName: string) => `${prefix}:{bull-${queueName}}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** Resolves once the client is ready, or rejects after timeoutMs. */
export async function waitForRedis(client: RedisClient, timeoutMs: number): Promise<void> {
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
