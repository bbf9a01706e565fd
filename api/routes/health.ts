// Liveness and readiness. /readyz answers 503 when Postgres or Redis does not answer in time.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';

export const READY_CHECK_TIMEOUT_MS = 1000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);
}

export function healthRoutes({ rpc, redis }: Services): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const [pg, rd] = await Promise.allSettled([withTimeout(rpc.ping(), READY_CHECK_TIMEOUT_MS), withTimeout(redis.ping(), READY_CHECK_TIMEOUT_MS)]);
    const checks = { postgres: pg.status === 'fulfilled' ? 'ok' : 'down', redis: rd.status === 'fulfilled' ? 'ok' : 'down' };
    const ready = checks.postgres === 'ok' && checks.redis === 'ok';
    if (ready) {
      res.json({ status: 'ready', checks });
      return;
    }
    res.status(503).json({ error: 'service_unavailable', message: 'A dependency is not answering.', checks });
  });
  return r;
}
