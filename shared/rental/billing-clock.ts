// The billing clock as a process reads it (issue 24, CONTRACT §11). Its truth is one row in
// Postgres (billing_clock; SQL reads it through billing_now()), so every process — API, workers,
// however many of each — agrees on it, and SQL and TypeScript agree with each other. Sandbox mode
// can move it forward (POST /api/admin/clock); elsewhere its offset is 0 and never read.
//
// TypeScript needs it in one place only: the Redis call gate decides the daily spend's day itself
// (Lua), from now + this offset. The hot path must not ask Postgres, so each sandbox process keeps
// the offset in memory and refreshes it every BILLING_CLOCK_REFRESH_MS; the process that moved the
// clock knows at once. Staleness bound (sandbox only): another process's gate counts the day's
// spend on the old day for at most BILLING_CLOCK_REFRESH_MS after a move.
import type { Logger } from '../logger';
import type { ClockAdvance, ClockReading, RentalStore } from './rental-store';

/** How often a sandbox process re-reads the offset from Postgres (ms). */
export const BILLING_CLOCK_REFRESH_MS = 1000;
/** The longest single move of the clock (s): 366 days (billing_clock_advance refuses more). */
export const CLOCK_ADVANCE_MAX_SECONDS = 31_622_400;

export interface BillingClock {
  /** The offset (ms) this process last read; 0 outside sandbox mode. */
  offsetMs(): number;
  /** Now on the billing clock (ms since the epoch). */
  nowMs(): number;
  /** Reads the clock from Postgres (and keeps its offset). */
  read(): Promise<ClockReading>;
  /** Moves it forward by `seconds` (sandbox mode only: the caller checks). */
  advance(seconds: number): Promise<ClockAdvance>;
  close(): void;
}

export function createBillingClock(o: { store: RentalStore; sandbox: boolean; log: Logger; refreshMs?: number }): BillingClock {
  let offsetMs = 0;
  const read = async (): Promise<ClockReading> => {
    const c = await o.store.clock();
    offsetMs = c.offsetSeconds * 1000;
    return c;
  };
  let timer: NodeJS.Timeout | undefined;
  if (o.sandbox) {
    const refresh = () =>
      void read().catch((err: unknown) => o.log.debug({ err: (err as Error).message }, 'billing clock: could not read the offset; keeping the last one'));
    refresh();
    timer = setInterval(refresh, o.refreshMs ?? BILLING_CLOCK_REFRESH_MS);
    timer.unref();
  }
  return {
    offsetMs: () => offsetMs,
    nowMs: () => Date.now() + offsetMs,
    read,
    async advance(seconds) {
      const r = await o.store.advanceClock(seconds);
      offsetMs = r.offset_seconds * 1000;
      return r;
    },
    close: () => clearInterval(timer),
  };
}
