// A test-owned redis-server on its own free port, which a test can stop and start again to
// prove what the service does while Redis is down. No persistence: a restart is an empty Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** How long start() waits for the server to answer PING. */
export const REDIS_SERVER_START_TIMEOUT_MS = 10_000;
/** How long stop() waits for the process to exit after SIGTERM before SIGKILL. */
export const REDIS_SERVER_STOP_TIMEOUT_MS = 5_000;

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
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  readonly running: boolean;
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // disconnectTimeout: ioredis otherwise keeps a 2 s timer per refused probe alive after the test.
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null, disconnectTimeout: 10 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

/** Spawns `redis-server --port <free> --save "" --appendonly no` (not yet started). */
export async function createRedisServer(): Promise<TestRedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const server: TestRedisServer = {
    port,
    url,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) return;
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      child.once('exit', () => {
        child = undefined;
      });
      await waitForPing(url, REDIS_SERVER_START_TIMEOUT_MS);
    },
    async stop() {
      const c = child;
      if (!c) return;
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => c.kill('SIGKILL'), REDIS_SERVER_STOP_TIMEOUT_MS);
        c.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        c.kill('SIGTERM');
      });
      child = undefined;
    },
    async restart() {
      await server.stop();
      await server.start();
    },
  };
  return server;
}
