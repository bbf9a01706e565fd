// GET /api/managed-telephony/provisioning/:requestId — read from the database row (the source of
// truth; BullMQ jobs vanish), scoped to the caller's organisation: foreign, unknown and malformed
// ids are the same 404 (failure mode 21).
import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors';
import type { ProvisioningRequest } from '../../shared/provisioning/provisioning-store';
import type { Services } from '../../shared/process/services';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { UUID_PATTERN } from './schemas';

const notFound = () => new AppError('not_found', 'No such provisioning request.');

export function provisioningStatusBody(r: ProvisioningRequest) {
  return {
    requestId: r.id,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    areaCode: r.areaCode,
    phoneNumber: r.status === 'completed' ? r.phoneNumber : null,
    error: r.error,
    charged: r.charged,
    refunded: r.refunded,
    currency: r.currency,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function provisioningStatus({ provisioning }: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const requestId = String(req.params.requestId);
    if (!UUID_PATTERN.test(requestId)) throw notFound();
    const r = await provisioning.get(orgId, requestId.toLowerCase());
    if (r.outcome !== 'found') throw notFound();
    res.json(provisioningStatusBody(r.request));
  };
}
