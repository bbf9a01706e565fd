// A redis-server owned by one test file or bench run, on its own free port, that can be crashed
// (SIGKILL) and started again on the same port (clients reconnect). Without an append-only file a
// restart is an empty Redis; with one, a restart keeps what was written up to about a second
// before the kill, as production runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually';

/** How long start() waits for the server to answer PING. */
export const REDIS_START_LIMIT_MS = 10_000;
/** How long stop() waits for the killed process to exit. */
export const REDIS_STOP_LIMIT_MS = 5_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestRedisServer {
  url: string;
  port: number;
  running(): boolean;
  /**
   * Starts it (again) on the same port. With an append-only file it reloads what was written;
   * `{ empty: true }` deletes the data first (a Redis that lost everything).
   */
  start(options?: { empty?: boolean }): Promise<void>;
  /** SIGKILL: as abrupt as a crash. Resolves once the process has exited. */
  stop(): Promise<void>;
  /**
   * SIGSTOP: a stall. Its sockets stay open and nothing answers until resume() (SIGCONT). Returns
   * false when no server is running (nothing to stall).
   */
  pause(): boolean;
  resume(): void;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

export interface TestRedisOptions {
  /** Keep an append-only file (fsync every second), so a restart keeps what was written. */
  appendOnly?: boolean;
}

async function waitForPing(url: string, limitMs: number): Promise<void> {
  await eventually(
    async () => {
      // disconnectTimeout: ioredis otherwise keeps a 2 s timer per refused probe alive after the test.
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null, disconnectTimeout: 10 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
        return true;
      } finally {
        client.disconnect();
      }
    },
    { what: `redis-server at ${url} answering PING`, timeoutMs: limitMs, everyMs: 50, retryErrors: true },
  );
}

/** A server on a free port, not yet started. */
export async function createRedisServer(options: TestRedisOptions = {}): Promise<TestRedisServer> {
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

  /** The process a pause() stopped, so resume() continues that one (a stop() may have replaced it). */
  let paused: ChildProcess | undefined;
  const pause = () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    paused = child;
    return child.kill('SIGSTOP');
  };
  const resume = () => {
    const proc = paused;
    paused = undefined;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGCONT');
  };

  return {
    url,
    port,
    running: () => child !== undefined,
    start,
    stop,
    pause,
    resume,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A server on a free port, started. */
export async function startRedisServer(options: TestRedisOptions = {}): Promise<TestRedisServer> {
  const server = await createRedisServer(options);
  await server.start();
  return server;
}
