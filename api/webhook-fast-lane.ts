// The hot path's front door (issue 15). Vapi's webhook requests that carry the shared secret are
// answered before express runs: express's per-request set-up, router walk and body parser cost
// about as much CPU per request as the call gate's own work (docs/benchmarks.md), and Vapi sends
// an assistant-request for every call. The lane takes only what the express route would answer
// the same way without consulting anything else: POST to the exact path (no query string), the
// shared secret in `x-vapi-secret` or as a Bearer token (decided from the headers alone, in
// constant time), a body without a content-encoding. It reads the body under the same limit and
// answers with the same dispatcher (api/routes/vapi-webhook.ts). Everything else goes to express
// unchanged: HMAC-signed requests, missing or wrong credentials (the failed-authentication limiter
// counts those; it never counts a request that authenticates, so skipping it changes nothing),
// compressed bodies, any other path or method.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import getRawBody from 'raw-body';
import type { Logger } from '../shared/logger';
import type { Services } from '../shared/process/services';
import { createApp } from './app';
import { httpDurationRecorder, type HttpDurationRecorder } from './middleware/http-metrics';
import { hasSharedSecret, type VapiAuthSettings } from './middleware/vapi-auth';
import { sendJson, webhookDeps, webhookDispatcher, type WebhookDispatcher } from './routes/vapi-webhook';

/** The route template the HTTP histogram labels webhook requests with, on either path. */
export const WEBHOOK_PATH = '/api/vapi/webhook';

export interface FastLaneOptions {
  auth: VapiAuthSettings;
  bodyBytes: number;
  dispatcher: WebhookDispatcher;
  record: HttpDurationRecorder;
  log: Logger;
}

/** Returns true when it has taken the request (and will answer it); false leaves it untouched. */
export function webhookFastLane(o: FastLaneOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== WEBHOOK_PATH) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') return false;
    if (!hasSharedSecret(req.headers, o.auth)) return false;
    const started = process.hrtime.bigint();
    res.once('finish', () => o.record('POST', WEBHOOK_PATH, res.statusCode, started));
    getRawBody(req, { length: req.headers['content-length'], limit: o.bodyBytes })
      .then(
        (body) => o.dispatcher.dispatch(body, res),
        (err: Error) => o.dispatcher.unreadable(err, res),
      )
      .catch((err: unknown) => {
        // The dispatcher answers every failure it knows; reaching here is a bug, answered as the
        // app's error handler answers one.
        o.log.error({ err, method: 'POST', path: WEBHOOK_PATH }, 'unhandled error');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal_error', message: 'Something went wrong on our side; it has been logged.' });
      });
    return true;
  };
}

/**
 * What the HTTP server runs: the webhook's fast lane, then the express app for everything else.
 * Both count into the same HTTP histogram, with the same labels.
 */
export function createHttpHandler(services: Services): RequestListener {
  const { config, metrics, log } = services;
  const app = createApp(services);
  const take = webhookFastLane({
    auth: { secret: config.auth.vapiWebhookSecret, hmacSecret: config.auth.vapiWebhookHmacSecret, maxSkewSeconds: config.auth.vapiWebhookMaxSkewSeconds },
    bodyBytes: config.callGate.webhookBodyBytes,
    dispatcher: webhookDispatcher(webhookDeps(services)),
    record: httpDurationRecorder(metrics),
    log,
  });
  return (req, res) => {
    if (!take(req, res)) app(req, res);
  };
}
