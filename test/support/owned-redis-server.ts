// A redis-server owned by one test file or bench run, on its own port, that can be crashed
// (SIGKILL) and started again on the same port (clients reconnect), optionally with an
// append-only file so a restart keeps what was written. test/support/redis-server.ts is the
// simpler variant (SIGTERM, never persistent); this one serves the chaos test and the bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server';

export { freePort };

export const REDIS_START_LIMIT_MS = 10_000;
export const REDIS_STOP_LIMIT_MS = 5_000;

export interface OwnedRedisServer {
  url: string;
  port: number;
  running(): boolean;
  /**
   * Starts it again on the same port. With an append-only file it reloads what was written;
   * `{ empty: true }` deletes the data first (a Redis that lost everything).
   */
  start(options?: { empty?: boolean }): Promise<void>;
  /** SIGKILL: as abrupt as a crash. Resolves once the process has exited. */
  stop(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

export interface OwnedRedisOptions {
  /**
   * Keep an append-only file (fsync every second, as production runs it), so a restart keeps
   * what was written up to about a second before the kill. Without it a restart loses everything.
   */
  appendOnly?: boolean;
}

async function waitForPing(url: string, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within ${limitMs} ms: ${(err as Error).message}`);
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startOwnedRedisServer(options: OwnedRedisOptions = {}): Promise<OwnedRedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bg-redis-'));
  const persistence = options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (startOptions: { empty?: boolean } = {}) => {
    if (child) return;
    if (startOptions.empty) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => {
      if (child === proc) child = undefined;
    });
    await waitForPing(url, REDIS_START_LIMIT_MS);
  };

  const stop = async () => {
    const proc = child;
    if (!proc) return;
    proc.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, REDIS_STOP_LIMIT_MS).unref())]);
    child = undefined;
  };

  await start();
  return {
    url,
    port,
    running: () => child !== undefined,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
