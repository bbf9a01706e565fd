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

export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
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
    res.on('finish', () => {
      end({ method: req.method, route: template ?? 'unmatched', status: String(res.statusCode) });
    });
    next();
  };
}
