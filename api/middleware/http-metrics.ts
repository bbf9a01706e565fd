// Latency per route template (never the raw path, which would explode label cardinality).
// The template is captured when the router assigns req.route, because that is the only moment
// req.baseUrl still holds the sub-router's mount path: by the time an error response finishes
// (a 402, a 404 thrown from a handler), the router has restored baseUrl and the label would lose
// its prefix ("/provision" instead of "/api/managed-telephony/provision").
import type { Request, RequestHandler } from 'express';
import type { Metrics } from '../../shared/metrics';

function templateOf(req: Request, route: unknown): string | undefined {
  const path = (route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return `${req.baseUrl}${path}`;
  if (Array.isArray(path)) return `${req.baseUrl}${path.map(String).join('|')}`;
  return undefined;
}

/** Bound on the cached label children (method × route template × status: a few dozen in practice). */
const MAX_CHILDREN = 1000;

/** Observes one answered request's duration from its start (process.hrtime.bigint()). */
export type HttpDurationRecorder = (method: string, route: string, status: number, startedNs: bigint) => void;

export function httpDurationRecorder(metrics: Metrics): HttpDurationRecorder {
  // The labelled child per (method, route, status), bound once rather than looked up from a label
  // object on every request (the webhook's hot path).
  const children = new Map<string, ReturnType<Metrics['httpDuration']['labels']>>();
  const childFor = (method: string, route: string, status: string) => {
    const key = `${method} ${status} ${route}`;
    let c = children.get(key);
    if (c === undefined) {
      c = metrics.httpDuration.labels(method, route, status);
      if (children.size < MAX_CHILDREN) children.set(key, c);
    }
    return c;
  };
  return (method, route, status, startedNs) => childFor(method, route, String(status)).observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
}

export function httpMetrics(metrics: Metrics): RequestHandler {
  const record = httpDurationRecorder(metrics);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let template: string | undefined;
    let route: unknown = req.route;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value: unknown) => {
        route = value;
        template = templateOf(req, value) ?? template;
      },
    });
    res.on('finish', () => record(req.method, template ?? 'unmatched', res.statusCode, started));
    next();
  };
}
