// A log line that repeats at most once per interval. During an outage the same warning would
// otherwise be written for every decision or batch (hundreds a second, each a synchronous write
// to stdout on the hot path); the metrics count every occurrence, the log says that it happens
// and how often it was suppressed since the last line.
import type { Logger } from '../logger';

/** At most one line per this interval per throttled message (ms). */
export const OUTAGE_LOG_INTERVAL_MS = 10_000;

export function throttledLog(log: Logger, level: 'warn' | 'error', msg: string, intervalMs = OUTAGE_LOG_INTERVAL_MS, nowMs: () => number = Date.now) {
  let lastMs = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields: Record<string, unknown>): void => {
    const now = nowMs();
    if (now - lastMs < intervalMs) {
      suppressed++;
      return;
    }
    lastMs = now;
    log[level]({ ...fields, suppressedSinceLastLine: suppressed }, msg);
    suppressed = 0;
  };
}
