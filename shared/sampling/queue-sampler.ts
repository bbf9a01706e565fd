// Samples every queue into the queue gauges: jobs per state, and the age of the oldest waiting
// job. Sampled on scrape (GET /metrics), not on a timer: only API processes serve /metrics, the
// numbers are then never older than the scrape, and an idle process costs Redis nothing. Every
// API replica reports the same queue-wide numbers, so alert on max(), never sum() (see
// deploy/prometheus/alerts.yml). A sample that cannot finish in time leaves the last values and
// the scrape still answers.
import type { Queue } from 'bullmq';
import type { Metrics } from '../metrics';
import { settlesWithin } from '../timeout';

export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'waiting-children'] as const;
export const QUEUE_SAMPLE_TIMEOUT_MS = 1000;

async function sampleQueue(queue: Queue, metrics: Metrics, now: number): Promise<void> {
  const counts = await queue.getJobCounts(...QUEUE_STATES);
  for (const state of QUEUE_STATES) metrics.queueDepth.set({ queue: queue.name, state }, counts[state] ?? 0);
  // asc = true: the oldest waiting job first. A promoted delayed job counts from when it became due.
  const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
  const since = oldest ? oldest.timestamp + (oldest.delay ?? 0) : now;
  metrics.queueOldestWaitingSeconds.set({ queue: queue.name }, Math.max(0, (now - since) / 1000));
}

/** Resolves true when every queue was sampled within the timeout, false otherwise (never throws). */
export async function sampleQueues(queues: readonly Queue[], metrics: Metrics, timeoutMs = QUEUE_SAMPLE_TIMEOUT_MS): Promise<boolean> {
  const now = Date.now();
  return settlesWithin(Promise.all(queues.map((q) => sampleQueue(q, metrics, now))), timeoutMs);
}
