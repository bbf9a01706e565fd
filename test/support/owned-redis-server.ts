// A redis-server owned by one test file or bench run, on its own port, that can be stopped and
// started again on the same port (clients reconnect): for proving behaviour while Redis is down.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_START_LIMIT_MS = 10_000;
export const REDIS_STOP_LIMIT_MS = 5_000;

export interface OwnedRedisServer {
  url: string;
  port: number;
  running(): boolean;
  /** Starts it again on the same port (no data: the server keeps nothing on disk). */
  start(): Promise<void>;
  /** SIGKILL: as abrupt as a crash. Resolves once the process has exited. */
  stop(): Promise<void>;
}

/** A port the OS just handed out and released; good enough for a child that binds at once. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
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

export async function startOwnedRedisServer(): Promise<OwnedRedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
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
  return { url, port, running: () => child !== undefined, start, stop };
}
