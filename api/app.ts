// The express app, assembled from route modules. No logic lives here: order of middleware only.
import express, { type Express } from 'express';
import type { Services } from '../shared/process/services';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { httpMetrics } from './middleware/http-metrics';
import { authFailureLimiters } from './middleware/rate-limit';
import { adminRoutes } from './routes/admin';
import { billingPageRoutes } from './routes/billing-page';
import { BULL_BOARD_PATH, bullBoardRoutes } from './routes/bull-board';
import { healthRoutes } from './routes/health';
import { callRoutes } from './routes/calls';
import { listCallsRoutes } from './routes/list-calls';
import { managedTelephonyRoutes } from './routes/managed-telephony';
import { metricsRoutes } from './routes/metrics';
import { openApiRoutes } from './routes/openapi';
import { numbersRoutes } from './routes/numbers';
import { walletRoutes } from './routes/wallet';
import { vapiWebhookRoutes, webhookDeps } from './routes/vapi-webhook';
import { stripeWebhookRoutes } from './routes/stripe-webhook';

export function createApp(services: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(httpMetrics(services.metrics));
  // Failed authentication is throttled per source address; callers that authenticate never are.
  const limiters = authFailureLimiters(services);
  // Vapi's webhook reads its own raw body (HMAC over the bytes), so it comes before the JSON parser;
  // and it comes first of all, as the hot path (issue 15): every router mounted without a path
  // before it (health, metrics, OpenAPI, Bull Board) was walked and path-matched on every
  // assistant-request. No route of theirs lies under /api/vapi, so the order changes no answer.
  // (Requests with the shared secret are answered before express: api/webhook-fast-lane.ts.)
  app.use('/api/vapi', limiters.webhook, vapiWebhookRoutes(webhookDeps(services)));
  app.use(healthRoutes(services));
  app.use('/metrics', limiters.operator);
  app.use(metricsRoutes(services));
  // Operations (operations branch): the API description and Bull Board, before the JSON parser.
  app.use(openApiRoutes());
  app.use(BULL_BOARD_PATH, limiters.operator);
  app.use(bullBoardRoutes(services));
  // The billing page (CONTRACT §9): static files with their own CSP; it calls the dashboard API.
  app.use('/billing', billingPageRoutes(services));
  // Stripe's webhook verifies its signature over the raw bytes, so it comes before the JSON parser.
  app.use('/api/stripe', stripeWebhookRoutes(services));
  // Body parsing after the cheap routes; a strict JSON parser with a size limit for everything else.
  app.use(express.json({ limit: services.config.limits.httpBodyBytes, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use('/api/admin', limiters.operator, adminRoutes(services));
  app.use('/api/wallet', limiters.dashboard, walletRoutes(services));
  app.use('/api/managed-telephony', limiters.dashboard, managedTelephonyRoutes(services));
  // POST /api/calls and GET /api/rates (outbound calls, CONTRACT §10) first; GET /api/calls (the
  // calls list, §12) falls through to its own router. One dashboard limiter for both.
  app.use(['/api/calls', '/api/rates'], limiters.dashboard);
  app.use('/api', callRoutes(services));
  app.use('/api/calls', listCallsRoutes(services));
  app.use('/api/numbers', limiters.dashboard, numbersRoutes(services));
  app.use(notFoundHandler);
  app.use(errorHandler(services.log));
  return app;
}
