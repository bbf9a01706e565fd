// Open-loop load: operations started at a fixed rate whatever the answers do (a closed loop, as
// loop-load.ts runs, slows down with the thing it measures and so hides its queueing). For the
// capacity scenario's steady trickle of admissions and its bare-Lua baseline. Each operation's own
// time goes into an HDR histogram (µs); the schedule is kept from a 5 ms tick, so an operation
// starts at most a tick after its turn.
import type * as hdr from 'hdr-histogram-js';
import { newHistogram } from './loop-load';

export interface OpenLoop {
  label: string;
  ratePerSecond: number;
  durationSeconds: number;
  /** One operation; `i` counts from 0. Throws on error. */
  op(i: number): Promise<void>;
}

export interface OpenLoopResult {
  histogram: hdr.Histogram;
  started: number;
  done: number;
  errors: number;
  firstError?: string;
  /** From the first start to the last answer. */
  seconds: number;
}

const TICK_MS = 5;
/** How long the loop waits, after its last start, for answers still out. */
const DRAIN_LIMIT_MS = 30_000;

export async function runOpenLoop(o: OpenLoop, progress: (line: string) => void): Promise<OpenLoopResult> {
  const histogram = newHistogram();
  const total = Math.max(1, Math.round(o.ratePerSecond * o.durationSeconds));
  const out: OpenLoopResult = { histogram, started: 0, done: 0, errors: 0, seconds: 0 };
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let lastPrint = t0;
  const launch = (i: number) => {
    const s = performance.now();
    const p = o.op(i).then(
      () => {
        histogram.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
        out.done++;
      },
      (err: unknown) => {
        out.errors++;
        out.firstError ??= (err as Error).message;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((o.ratePerSecond * (now - t0)) / 1000) + 1);
      while (out.started < due) launch(out.started++);
      if (now - lastPrint >= 1000) {
        lastPrint = now;
        progress(`${o.label}: ${((now - t0) / 1000).toFixed(0)}/${o.durationSeconds}s ${out.done} done${out.errors ? `, ${out.errors} errors` : ''}, ${inFlight.size} in flight`);
      }
      if (out.started >= total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  const drained = Promise.allSettled([...inFlight]);
  let limit: NodeJS.Timeout | undefined;
  await Promise.race([drained, new Promise((r) => (limit = setTimeout(r, DRAIN_LIMIT_MS)))]);
  clearTimeout(limit);
  out.errors += inFlight.size; // still unanswered: counted as errors, not left out
  out.seconds = (performance.now() - t0) / 1000;
  if (out.firstError) progress(`${o.label}: first error: ${out.firstError}`);
  return out;
}
