// The BullMQ backend every queue of ours is built on: BullMQ's own Redis backend, whose connection
// is set up again when its set-up failed.
//
// BullMQ sets a queue's connection up once, when the queue is made: it waits for the client to be
// ready, then asks INFO for the server's version, and keeps that one promise. An INFO lost (Redis
// going away between the client's ready and the reply: a restart while a process starts) left the
// queue refusing every command for the life of the process, though the shared client itself
// reconnects: no job added, no schedule asserted, no sweep run, and /readyz still answering 200
// (its PING goes over the client). CI saw a workers process never assert its schedules.
//
// The backend reads its `connection` on every command (RedisQueueBackend's `queue.client` getter),
// so a failed set-up is replaced by a new connection over the same client, set up again after
// QUEUE_SETUP_RETRY_MS; commands in between fail as during any outage. Workers are untouched:
// their connections are their own, with an offline queue, so their set-up waits instead of failing.
import { createRedisBackend, isRedisInstance, RedisConnection, type BackendFactory, type ConnectionOptions, type QueueBaseOptions, type RedisQueueBackend } from 'bullmq';

/** How long after a failed set-up a queue's connection is set up again (ms). */
export const QUEUE_SETUP_RETRY_MS = 500;

export const settingUpAgain: BackendFactory<RedisQueueBackend> = (name, opts, flags) => {
  const backend = createRedisBackend(name, opts, flags);
  // Only a queue over a client of ours (createQueues): a new connection then shares that client.
  if (!flags?.blocking && !flags?.withBlockingConnection && isRedisInstance(opts.connection)) watchSetUp(backend, opts);
  return backend;
};

function watchSetUp(backend: RedisQueueBackend, opts: QueueBaseOptions<ConnectionOptions>): void {
  const failed = backend.connection;
  failed.client.then(
    () => undefined,
    () => setUpAgainLater(backend, opts, failed),
  );
}

function setUpAgainLater(backend: RedisQueueBackend, opts: QueueBaseOptions<ConnectionOptions>, failed: RedisConnection): void {
  const retry = setTimeout(() => {
    // A queue closed meanwhile keeps its failed set-up: nothing will use it.
    if (backend.closing !== undefined || backend.connection !== failed) return;
    try {
      backend.connection = new RedisConnection(opts.connection, { shared: true, blocking: false, skipVersionCheck: opts.skipVersionCheck });
    } catch {
      // Never thrown out of a timer (that would end the process): the next try comes later.
      setUpAgainLater(backend, opts, failed);
      return;
    }
    backend.connection.on('error', () => undefined); // surfaced on the commands that fail
    void failed.close().catch(() => undefined);
    watchSetUp(backend, opts);
  }, QUEUE_SETUP_RETRY_MS);
  retry.unref();
}
