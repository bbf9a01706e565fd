// The express app, assembled from route modules. No logic lives here: order of middleware only.
import express, { type Express } from 'express';
import type { Services } from '../shared/process/services';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { httpMetrics } from './middleware/http-metrics';
import { adminRoutes } from './routes/admin';
import { healthRoutes } from './routes/health';
import { managedTelephonyRoutes } from './routes/managed-telephony';
import { metricsRoutes } from './routes/metrics';
import { walletRoutes } from './routes/wallet';
import { vapiWebhookRoutes } from './routes/vapi-webhook';

export function createApp(services: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(httpMetrics(services.metrics));
  app.use(healthRoutes(services));
  app.use(metricsRoutes(services));
  // Vapi's webhook reads its own raw body (HMAC over the bytes), so it comes before the JSON parser.
  app.use('/api/vapi', vapiWebhookRoutes({ services, gate: services.calls.gate, reports: services.calls.reports }));
  // Body parsing after the cheap routes; a strict JSON parser with a size limit for everything else.
  app.use(express.json({ limit: services.config.limits.httpBodyBytes, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use('/api/admin', adminRoutes(services));
  app.use('/api/wallet', walletRoutes(services));
  app.use('/api/managed-telephony', managedTelephonyRoutes(services));
  app.use(notFoundHandler);
  app.use(errorHandler(services.log));
  return app;
}
