// Prometheus text for operators.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { requireOperator } from '../middleware/operator-auth';

export function metricsRoutes({ config, metrics }: Services): Router {
  const r = Router();
  r.get('/metrics', requireOperator(config.auth.adminToken), async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  return r;
}
