// Closed-loop load for non-HTTP operations: `concurrency` loops call `op` until the duration
// ends; each call's latency goes into an HDR histogram (microsecond resolution).
import * as hdr from 'hdr-histogram-js';
import type { Measurement } from './types';

export interface LoopLoad {
  label: string;
  concurrency: number;
  durationSeconds: number;
  unit?: Measurement['unit'];
  /** One operation; `i` is unique across all loops. Throws on error. */
  op(i: number): Promise<void>;
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export async function runLoopLoad(load: LoopLoad, progress: (line: string) => void): Promise<Measurement> {
  const histogram = newHistogram();
  const deadline = performance.now() + load.durationSeconds * 1000;
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const ticker = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    progress(`${load.label}: ${s.toFixed(0)}/${load.durationSeconds}s ${done} ops (${(done / s).toFixed(0)}/s)${errors ? `, ${errors} errors` : ''}`);
  }, 1000);
  const loop = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      try {
        await load.op(i);
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        done++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: load.concurrency }, loop));
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - started) / 1000;
  if (firstError) progress(`${load.label}: first error: ${firstError}`);
  return fromHistogram(load.label, histogram, done, errors, seconds, load.unit ?? 'ops/s');
}

export function fromHistogram(label: string, h: hdr.Histogram, count: number, errors: number, seconds: number, unit: Measurement['unit']): Measurement {
  return {
    label,
    throughput: count / seconds,
    unit,
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p99Ms: h.getValueAtPercentile(99) / 1000,
    count,
    errors,
    durationSeconds: seconds,
  };
}
