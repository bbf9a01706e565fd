// HTTP load with autocannon against a real listening server, with a progress line per second.
import autocannon from 'autocannon';
import { cpuBetween, eitherStore, sampleCpu, type StoreFilter } from './cpu-time';
import type { Measurement } from './types';

/** Unmeasured load each HTTP side of a and b runs first, so no measured side pays its JIT warm-up. */
export const WARM_UP_SECONDS = 1;

export interface HttpLoad {
  label: string;
  url: string;
  connections: number;
  durationSeconds: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The measured server's pid: the result then carries the CPU each process group spent (cpu-time.ts). */
  serverPid?: number;
  /** Which Redis and Postgres processes count (BenchWorld.stores); every one on the machine without it. */
  stores?: () => Promise<StoreFilter>;
  /** Rewrites each request (e.g. a unique Idempotency-Key). */
  setupRequest?: (req: { headers?: Record<string, string>; body?: string }) => { headers?: Record<string, string>; body?: string };
}

/** A request that took longer than this counts as an error (the server is stuck, not slow). */
export const HTTP_TIMEOUT_SECONDS = 10;

export async function runHttpLoad(load: HttpLoad, progress: (line: string) => void): Promise<Measurement> {
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationSeconds,
    timeout: HTTP_TIMEOUT_SECONDS,
    method: load.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...load.headers },
    body: load.body,
    ...(load.setupRequest ? { requests: [{ setupRequest: load.setupRequest }] } : {}),
  });
  let responses = 0;
  let bad = 0;
  instance.on('response', (_client: unknown, statusCode: number) => {
    responses++;
    if (statusCode < 200 || statusCode >= 300) bad++;
  });
  const storesBefore = await load.stores?.();
  const cpuBefore = load.serverPid === undefined ? undefined : sampleCpu(load.serverPid, storesBefore);
  const started = Date.now();
  const ticker = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    progress(`${load.label}: ${s.toFixed(0)}/${load.durationSeconds}s ${responses} responses (${(responses / s).toFixed(0)}/s)${bad ? `, ${bad} non-2xx` : ''}`);
  }, 1000);
  try {
    const r = await instance;
    const storesAfter = load.stores && storesBefore && eitherStore(storesBefore, await load.stores());
    const cpu = load.serverPid === undefined ? undefined : cpuBetween(cpuBefore, sampleCpu(load.serverPid, storesAfter));
    return {
      label: load.label,
      throughput: r['2xx'] / r.duration,
      unit: 'req/s',
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      count: r['2xx'],
      errors: r.errors + r.timeouts + r.non2xx,
      durationSeconds: r.duration,
      ...(cpu ? { cpu } : {}),
    };
  } finally {
    clearInterval(ticker);
  }
}
