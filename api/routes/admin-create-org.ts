// POST /api/admin/orgs — creates an organisation and its wallet (or adopts a Supabase org id).
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { parseBody } from '../middleware/validate';
import { currency, uuid } from './schemas';

const body = z.strictObject({
  name: z.string().trim().min(1).max(200),
  orgId: uuid.optional(),
  currency: currency.optional(),
});

export function createOrg({ store, config }: Services): RequestHandler {
  return async (req, res) => {
    const input = parseBody(body, req);
    const r = await store.createOrg({ name: input.name, orgId: input.orgId, currency: input.currency ?? config.pricing.currency });
    if (r.outcome === 'exists') throw new AppError('conflict', 'An organisation with this orgId already exists.', { orgId: r.org_id });
    res.status(201).json({ orgId: r.org_id });
  };
}
