// What a workers process serves (`npm run start:workers`): /healthz, /readyz and /metrics, nothing
// else. Renewals, refunds, retries, sweeps, the money outbox and the Stripe catch-up count in the
// process that runs them; with the API and the workers apart, the API's /metrics shows none of
// that, so each workers process is scraped too (WORKERS_METRICS_PORT). Same operator token, same
// failed-authentication limiter, same samplers as the API's /metrics; counters are per process
// (sum() them), queue gauges are queue-wide (max() them).
import express, { type Express } from 'express';
import type { Services } from '../shared/process/services';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { authFailureLimiters } from './middleware/rate-limit';
import { healthRoutes } from './routes/health';
import { metricsRoutes } from './routes/metrics';

export function createMetricsApp(services: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const limiters = authFailureLimiters(services);
  app.use(healthRoutes(services));
  app.use('/metrics', limiters.operator);
  app.use(metricsRoutes(services));
  app.use(notFoundHandler);
  app.use(errorHandler(services.log));
  return app;
}
