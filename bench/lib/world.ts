// A bench world: its own database (a copy of the migrated template, as the tests use), its own
// Redis key prefix, the same Services the processes build, and child processes running the real
// app and workers, so the load generator never shares an event loop with the server it measures.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { loadConfig } from '../../shared/config';
import { createPool } from '../../shared/db/pool';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices, type Services } from '../../shared/process/services';
import { createTestDatabase, databaseUrl, dropTestDatabase, ensureTemplate } from '../../test/support/databases';
import { deleteByPrefix } from '../../test/support/redis';
import { redisServerPid, type StoreFilter } from './cpu-time';
import { isProbeReply, type MeterWindow, type ProbeReply } from './meter-probe';
import { BENCH_WAIT_LIMIT_MS } from './settings';

export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const BENCH_JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';
export const BENCH_VAPI_SECRET = 'bench-vapi-secret-0123';
export const DEFAULT_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchWorld {
  env: Record<string, string>;
  databaseUrl: string;
  /** In-process services on the same database and prefix (fixtures, direct calls, checks). */
  services: Services;
  /** A small pool for the scenario's own counts and checks in SQL. */
  pool: Pool;
  /** The first column of the first row of a query, as a number. */
  count(sql: string, params?: unknown[]): Promise<number>;
  /**
   * The store processes whose CPU is this world's, as they are now: the redis-server on its
   * REDIS_URL's port, and its database's Postgres backends plus the server's background
   * processes. Not every redis-server and postgres on the machine: the test cluster, other
   * databases' backends and other people's runs share this machine.
   */
  stores(): Promise<StoreFilter>;
  close(): Promise<void>;
}

export async function createWorld(options: { redisUrl?: string; logLevel: string; env?: Record<string, string> }): Promise<BenchWorld> {
  await ensureTemplate();
  const dbName = await createTestDatabase();
  const url = databaseUrl(dbName);
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: url,
    REDIS_URL: options.redisUrl ?? DEFAULT_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
    SUPABASE_JWT_SECRET: BENCH_JWT_SECRET,
    VAPI_WEBHOOK_SECRET: BENCH_VAPI_SECRET,
    LOG_LEVEL: options.logLevel,
    ...options.env,
  };
  const config = loadConfig(env);
  const services = createServices(config, { log: createLogger(config.logLevel), metrics: createMetrics() });
  const pool = createPool(url, { max: 2 });
  return {
    env,
    databaseUrl: url,
    services,
    pool,
    async count(sql, params = []) {
      const r = await pool.query<Record<string, unknown>>(sql, params);
      const row = r.rows[0];
      return row ? Number(Object.values(row)[0]) : 0;
    },
    async stores() {
      const redisPid = redisServerPid(Number(new URL(env.REDIS_URL!).port || 6379));
      const r = await pool.query<{ pid: string }>("select pid::text as pid from pg_stat_activity where datname = current_database() or backend_type <> 'client backend'");
      const pg = new Set(r.rows.map((x) => x.pid));
      return (pid, group) => (group === 'redis' ? pid === redisPid : pg.has(pid));
    },
    async close() {
      await deleteByPrefix(services.redis, prefix).catch(() => undefined);
      await services.close();
      // quit() does not stop a client that is between reconnect attempts (scenario b kills its
      // Redis); disconnect() does, so no retry timer outlives the world.
      services.redis.disconnect();
      await pool.end();
      await dropTestDatabase(dbName);
    },
  };
}

export interface ChildHandle {
  pid: number;
  /** Set for HTTP children. */
  url: string;
  /**
   * Workers children only: opens a meter window (every meter step's lateness from now on), or
   * reads the open one (meter-probe.ts).
   */
  meterWindow(cmd: 'start'): Promise<void>;
  meterWindow(cmd: 'read'): Promise<MeterWindow>;
  stop(): Promise<void>;
}

export type ChildRole = 'app' | 'bare' | 'floor-redis' | 'floor-pg' | 'http-redis' | 'http-pg' | 'workers';

const CHILD = join(__dirname, 'child-process.ts');

/**
 * Starts bench/lib/child-process.ts as `role` ('app' = createApp over real services, 'bare' = a
 * constant express route, 'http-redis'/'http-pg' = the node:http anchors, 'workers' =
 * startWorkers; the header there lists them all) with the world's env, and waits for it to be
 * ready.
 */
export async function startChild(role: ChildRole, env: Record<string, string>): Promise<ChildHandle> {
  // BENCH_CPU_PROF=<dir>: each child writes a V8 CPU profile there when it exits (for finding
  // where a missed target's time goes; open in Chrome DevTools or summarise with bench/profile.ts).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child: ChildProcess = fork(CHILD, [role], {
    execArgv: ['--import', 'tsx', ...profile],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = once(child, 'message') as Promise<[{ port?: number }]>;
  const failed = once(child, 'exit').then(([code]) => {
    throw new Error(`bench ${role} process exited with ${String(code)} before it was ready`);
  });
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`bench ${role} process not ready in ${BENCH_WAIT_LIMIT_MS} ms`)), BENCH_WAIT_LIMIT_MS).unref());
  let port: number | undefined;
  try {
    [{ port }] = await Promise.race([ready, failed, timer]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  failed.catch(() => undefined);
  // Replies to meterWindow requests, by id (the first message, 'ready', was taken above).
  let nextId = 0;
  const waiting = new Map<number, (reply: ProbeReply) => void>();
  child.on('message', (m: unknown) => {
    if (!isProbeReply(m)) return;
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  const ask = (cmd: 'start' | 'read'): Promise<ProbeReply> => {
    if (role !== 'workers') return Promise.reject(new Error(`bench ${role} process has no meter probe`));
    const id = nextId++;
    return new Promise<ProbeReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`bench workers process did not answer a meter ${cmd} in 10 s`));
      }, 10_000);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.send({ probe: 'meter', id, cmd });
    });
  };
  async function meterWindow(cmd: 'start'): Promise<void>;
  async function meterWindow(cmd: 'read'): Promise<MeterWindow>;
  async function meterWindow(cmd: 'start' | 'read'): Promise<void | MeterWindow> {
    const reply = await ask(cmd);
    if (cmd === 'read') {
      if (!reply.window) throw new Error('bench workers process answered a meter read without a window');
      return reply.window;
    }
  }
  return {
    pid: child.pid ?? -1,
    url: port ? `http://127.0.0.1:${port}` : '',
    meterWindow,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
