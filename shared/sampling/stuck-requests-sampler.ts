// Samples billing_gates_stuck_requests (provisioning requests in a non-final state for longer than
// STUCK_REQUEST_AFTER_SECONDS) on scrape. The provisioning sweeper sets the same gauge in the
// workers process, but workers serve no /metrics when run apart (`start:workers`); sampling it
// where it is scraped makes the alert work in every layout. One count query, bounded in time;
// on failure the last value stays and the scrape still answers.
import type { Metrics } from '../metrics';
import type { ProvisioningStore } from '../provisioning/provisioning-store';
import { settlesWithin } from '../timeout';

export const STUCK_SAMPLE_TIMEOUT_MS = 1000;

export async function sampleStuckRequests(
  provisioning: Pick<ProvisioningStore, 'sweepCandidates'>,
  metrics: Metrics,
  stuckAfterSeconds: number,
  timeoutMs = STUCK_SAMPLE_TIMEOUT_MS,
): Promise<boolean> {
  // limit 1: only the count is wanted.
  return settlesWithin(
    provisioning.sweepCandidates(new Date(), 1, stuckAfterSeconds).then((c) => metrics.stuckRequests.set(c.stuck)),
    timeoutMs,
  );
}
