// For the queue scenarios: submit a fixed number of operations at a fixed concurrency, then wait
// (bounded) until a count read from the database says they have all been settled.
import type * as hdr from 'hdr-histogram-js';
import { BENCH_WAIT_LIMIT_MS } from './settings';

export interface Submitted {
  startedAt: number;
  finishedAt: number;
  accepted: number;
  errors: number;
  firstError?: string;
}

/** Runs submit(0..count-1) with `concurrency` in flight; each call's latency (µs) goes into `latencies` if given. */
export async function submitAll(count: number, concurrency: number, submit: (i: number) => Promise<void>, latencies?: hdr.Histogram): Promise<Submitted> {
  const out: Submitted = { startedAt: Date.now(), finishedAt: 0, accepted: 0, errors: 0 };
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      try {
        await submit(i);
        latencies?.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        out.accepted++;
      } catch (err) {
        out.errors++;
        out.firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, loop));
  out.finishedAt = Date.now();
  return out;
}

/** Polls `settled()` until it reaches `target`; returns when it did (ms since epoch). */
export async function waitSettled(label: string, target: number, settled: () => Promise<number>, progress: (line: string) => void, limitMs = BENCH_WAIT_LIMIT_MS): Promise<number> {
  const started = Date.now();
  let lastPrint = started;
  for (;;) {
    const n = await settled();
    const now = Date.now();
    if (n >= target) return now;
    if (now - started > limitMs) throw new Error(`${label}: only ${n}/${target} settled within ${limitMs} ms`);
    if (now - lastPrint >= 1000) {
      progress(`${label}: ${n}/${target} settled`);
      lastPrint = now;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
