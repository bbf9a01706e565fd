// Operators' API: everything under /api/admin needs the ADMIN_TOKEN bearer.
import { Router } from 'express';
import type { Services } from '../../shared/process/services';
import { requireOperator } from '../middleware/operator-auth';
import { advanceClock, getClock } from './admin-clock';
import { createOrg } from './admin-create-org';
import { creditWallet } from './admin-credit-wallet';
import { freezeWallet, unfreezeWallet } from './admin-freeze-wallet';
import { getOrgLimits, putOrgLimits } from './admin-org-limits';
import { getOrgDialing, putOrgDialing } from './admin-org-dialing';
import { getRates, putRates } from './admin-rates';
import { registerPhoneNumber } from './admin-register-phone-number';

export function adminRoutes(services: Services): Router {
  const r = Router();
  r.use(requireOperator(services.config.auth.adminToken));
  r.post('/orgs', createOrg(services));
  r.post('/orgs/:orgId/credits', creditWallet(services));
  r.get('/orgs/:orgId/limits', getOrgLimits(services));
  r.put('/orgs/:orgId/limits', putOrgLimits(services));
  r.post('/orgs/:orgId/freeze', freezeWallet(services));
  r.post('/orgs/:orgId/unfreeze', unfreezeWallet(services));
  r.post('/phone-numbers', registerPhoneNumber(services));
  r.get('/rates', getRates(services));
  r.put('/rates', putRates(services));
  r.get('/orgs/:orgId/dialing', getOrgDialing(services));
  r.put('/orgs/:orgId/dialing', putOrgDialing(services));
  // The billing clock (CONTRACT §11): sandbox mode only; elsewhere these paths are 404.
  if (services.config.sandbox.enabled) {
    r.get('/clock', getClock(services));
    r.post('/clock', advanceClock(services));
  }
  return r;
}
