// Operators' API: everything under /api/admin needs the ADMIN_TOKEN bearer.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { requireOperator } from '../middleware/operator-auth';
import { createOrg } from './admin-create-org';
import { creditWallet } from './admin-credit-wallet';
import { registerPhoneNumber } from './admin-register-phone-number';

export function adminRoutes(services: Services): Router {
  const r = Router();
  r.use(requireOperator(services.config.auth.adminToken));
  r.post('/orgs', createOrg(services));
  r.post('/orgs/:orgId/credits', creditWallet(services));
  r.post('/phone-numbers', registerPhoneNumber(services));
  return r;
}
