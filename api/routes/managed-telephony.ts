// /api/managed-telephony/* — the dashboard's provisioning surface, behind dashboard JWTs.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { requireDashboard } from '../middleware/dashboard-auth';
import { provisionNumber } from './provision-number';
import { provisioningStatus } from './provisioning-status';

export function managedTelephonyRoutes(services: Services): Router {
  const r = Router();
  r.use(requireDashboard(services.config.auth.jwt));
  r.post('/provision', provisionNumber(services));
  r.get('/provisioning/:requestId', provisioningStatus(services));
  return r;
}
