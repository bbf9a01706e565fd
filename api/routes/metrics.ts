// Prometheus text for operators. Queue gauges and the stuck-request gauge are sampled on each
// scrape (shared/sampling/), each bounded in time.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { sampleQueues } from '../../shared/sampling/queue-sampler';
import { sampleStuckRequests } from '../../shared/sampling/stuck-requests-sampler';
import { requireOperator } from '../middleware/operator-auth';

export function metricsRoutes({ config, metrics, queues, provisioning }: Services): Router {
  const r = Router();
  r.get('/metrics', requireOperator(config.auth.adminToken), async (_req, res) => {
    await Promise.all([sampleQueues(queues.all(), metrics), sampleStuckRequests(provisioning, metrics, config.sweep.stuckAfterSeconds)]);
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return r;
}
