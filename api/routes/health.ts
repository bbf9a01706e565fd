// Liveness and readiness. /readyz answers 503 when Postgres or Redis does not answer in time.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { pingRedis } from '../../shared/redis';
import { withTimeout } from '../../shared/timeout';

export const READY_CHECK_TIMEOUT_MS = 1000;

export function healthRoutes({ rpc, redis }: Services): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const [pg, rd] = await Promise.allSettled([withTimeout(rpc.ping(), READY_CHECK_TIMEOUT_MS, 'postgres'), withTimeout(pingRedis(redis), READY_CHECK_TIMEOUT_MS, 'redis')]);
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
