// Samples the due set of first renewals (shared/calls/meter-due.ts) into two gauges on scrape, as
// the queue sampler does: how many wait, and how long the most overdue one has been due. The pump
// claims an entry up to 2 s before it is due and re-scores it to the end of its lease, so an entry
// whose score is in the past is one no pump has taken: workers are not running, or the pump fails
// (its failures are counted too). Its call then runs past its first slice unrenewed, which is
// what the alert BillingGatesMeterPumpStalled is for. Bounded in time; never throws.
import type { MeterDue } from '../calls/meter-due';
import type { Metrics } from '../metrics';
import { settlesWithin } from '../timeout';

export const METER_DUE_SAMPLE_TIMEOUT_MS = 1000;

/** Resolves true when sampled within the timeout, false otherwise (the gauges keep their last values). */
export async function sampleMeterDue(due: MeterDue, metrics: Metrics, nowMs = Date.now(), timeoutMs = METER_DUE_SAMPLE_TIMEOUT_MS): Promise<boolean> {
  const work = due.depth().then(({ entries, lowestScoreMs }) => {
    metrics.meterDueEntries.set(entries);
    metrics.meterDueOverdueSeconds.set(lowestScoreMs === undefined ? 0 : Math.max(0, (nowMs - lowestScoreMs) / 1000));
  });
  return settlesWithin(work, timeoutMs);
}
