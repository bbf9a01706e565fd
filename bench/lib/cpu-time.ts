// CPU time by process group during one side of a scenario, read from /proc (Linux only; elsewhere
// nothing is reported). Throughput ratios on a shared two-core machine move with everything else
// the cores run (±10% between runs here); the CPU each answer costs the measured server, Redis,
// Postgres and the load generator moves far less, and says which of them a change made cheaper.
// Limits: a process that exits during a side (none should: pools and servers stay up) takes its
// time with it, and work a side leaves behind (hold batches still being written) is counted in
// the next side.
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of user + system CPU, by group. */
export interface CpuMs {
  server: number;
  redis: number;
  postgres: number;
  load: number;
}

/** What sampleCpu reads: the store processes by pid, so one that starts or exits between two samples does not skew the difference. */
export interface CpuSample {
  server: number;
  load: number;
  stores: Map<string, { group: 'redis' | 'postgres'; ms: number }>;
}

const TICK_MS = 10; // USER_HZ is 100 on every Linux build this runs on (`getconf CLK_TCK`)

/** CPU so far (user + system, ms) of one process; 0 when it is not there. */
export function procCpuMs(pid: string | number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at the state, field 3; utime and
    // stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/**
 * Which store processes count (default: every redis-server and postgres on the machine). The
 * capacity scenario narrows them to its own redis-server and its own database's backends, since
 * other people's test runs share this machine's Postgres and Redis.
 */
export type StoreFilter = (pid: string, group: 'redis' | 'postgres') => boolean;

/** The processes to count at the end of a span: those counted at its start and those there now (a backend opened during the span counts from zero). */
export const eitherStore =
  (a: StoreFilter, b: StoreFilter): StoreFilter =>
  (pid, group) =>
    a(pid, group) || b(pid, group);

/** CPU so far of every Redis and Postgres process (that `keep` keeps), by pid. */
function storeProcesses(keep?: StoreFilter): Map<string, { group: 'redis' | 'postgres'; ms: number }> {
  const out = new Map<string, { group: 'redis' | 'postgres'; ms: number }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const group = comm === 'redis-server' ? 'redis' : comm === 'postgres' ? 'postgres' : undefined;
    if (group !== undefined && (keep === undefined || keep(pid, group))) out.set(pid, { group, ms: procCpuMs(pid) });
  }
  return out;
}

const available = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** A snapshot of the groups' CPU so far; undefined where /proc is not there. */
export function sampleCpu(serverPid: number, keep?: StoreFilter): CpuSample | undefined {
  if (!available) return undefined;
  const own = process.cpuUsage();
  return { server: procCpuMs(serverPid), load: (own.user + own.system) / 1000, stores: storeProcesses(keep) };
}

/** The pid of the redis-server listening on `port` (its command line names it), if any. */
export function redisServerPid(port: number): string | undefined {
  if (!available) return undefined;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'redis-server') continue;
      // Started as `redis-server --port N …` (test/support/redis-server.ts); once running, Redis
      // rewrites its title to "redis-server 127.0.0.1:N" (or "*:N", "… [cluster]").
      const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
      if (new RegExp(`(:|--port )${port}( |$)`).test(line)) return pid;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** CPU spent between two samples; a store process that started in between counts from zero, one that exited is lost. */
export function cpuBetween(before: CpuSample | undefined, after: CpuSample | undefined): CpuMs | undefined {
  if (!before || !after) return undefined;
  const out: CpuMs = { server: after.server - before.server, redis: 0, postgres: 0, load: after.load - before.load };
  for (const [pid, p] of after.stores) out[p.group] += p.ms - (before.stores.get(pid)?.ms ?? 0);
  return out;
}

export function addCpu(a: CpuMs | undefined, b: CpuMs | undefined): CpuMs | undefined {
  if (!a || !b) return a ?? b;
  return { server: a.server + b.server, redis: a.redis + b.redis, postgres: a.postgres + b.postgres, load: a.load + b.load };
}

/** "server 141 + Redis 22 + Postgres 9 + load 61 = 233 µs": CPU per answer, by group. */
export function cpuPerAnswer(cpu: CpuMs | undefined, answers: number): string {
  if (!cpu || answers <= 0) return 'n/a (no /proc)';
  const us = (ms: number) => Math.round((ms * 1000) / answers);
  const total = cpu.server + cpu.redis + cpu.postgres + cpu.load;
  return `server ${us(cpu.server)} + Redis ${us(cpu.redis)} + Postgres ${us(cpu.postgres)} + load ${us(cpu.load)} = ${us(total)} µs`;
}
