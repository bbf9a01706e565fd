// Prometheus text for operators. Queue gauges, the stuck-request gauge and the due set of first
// renewals are sampled on each scrape (shared/sampling/), each bounded in time.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { sampleMeterDue } from '../../shared/sampling/meter-due-sampler';
import { sampleQueues } from '../../shared/sampling/queue-sampler';
import { sampleStuckRequests } from '../../shared/sampling/stuck-requests-sampler';
import { requireOperator } from '../middleware/operator-auth';

export function metricsRoutes({ config, metrics, queues, provisioning, calls }: Services): Router {
  const r = Router();
  r.get('/metrics', requireOperator(config.auth.adminToken), async (_req, res) => {
    await Promise.all([
      sampleQueues(queues.all(), metrics),
      sampleStuckRequests(provisioning, metrics, config.sweep.stuckAfterSeconds),
      sampleMeterDue(calls.due, metrics),
    ]);
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return r;
}
