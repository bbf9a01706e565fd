// /api/calls and /api/rates — the dashboard's outbound calls and rates (CONTRACT §10), behind dashboard JWTs.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { requireDashboard } from '../middleware/dashboard-auth';
import { getCallRate } from './call-rate';
import { placeCall } from './place-call';

export function callRoutes(services: Services): Router {
  const r = Router();
  // Per route, not r.use(): mounted at /api, a router-wide check would answer 401 for every other /api path.
  const dashboard = requireDashboard(services.config.auth.jwt);
  r.post('/calls', dashboard, placeCall(services));
  r.get('/rates', dashboard, getCallRate(services));
  return r;
}
