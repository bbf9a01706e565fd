// Prometheus text for operators. Queue gauges are sampled on each scrape (workers/queue-sampler.ts).
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { sampleQueues } from '../../workers/queue-sampler';
import { requireOperator } from '../middleware/operator-auth';

export function metricsRoutes({ config, metrics, queues }: Services): Router {
  const r = Router();
  r.get('/metrics', requireOperator(config.auth.adminToken), async (_req, res) => {
    await sampleQueues(queues.all(), metrics);
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return r;
}
