// GET / PUT /api/admin/orgs/:orgId/dialing — where an organisation's outbound calls may go and
// how fast (CONTRACT §10). A PUT replaces both (a key left out is null: any country, no limit).
// Countries are ISO 3166 alpha-2 codes, compared with the destination's country by its calling
// code (libphonenumber-js); checked with calls per second by outbound_call_admit, under the
// wallet row lock, for every call admitted after this answer.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { OrgDialing } from '../../shared/calls/outbound-store';
import type { Services } from '../../shared/process/services';
import { parseBody } from '../middleware/validate';
import { orgIdParam } from './admin-org-limits';

const body = z.strictObject({
  allowedCountries: z
    .array(z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 alpha-2 code such as "GB"'))
    .max(300)
    .transform((c) => [...new Set(c)].sort())
    .nullable()
    .default(null),
  callsPerSecond: z.number().int('must be a whole number').min(0).max(1000).nullable().default(null),
});

function answer(orgId: string, d: OrgDialing) {
  if (d.outcome === 'not_found') throw new AppError('not_found', 'No such organisation.');
  return { orgId, allowedCountries: d.allowed_countries, callsPerSecond: d.calls_per_second };
}

export function getOrgDialing(services: Services): RequestHandler {
  return async (req, res) => {
    const orgId = orgIdParam(req.params.orgId);
    res.json(answer(orgId, await services.outboundStore.dialing(orgId)));
  };
}

export function putOrgDialing(services: Services): RequestHandler {
  return async (req, res) => {
    const orgId = orgIdParam(req.params.orgId);
    const input = parseBody(body, req);
    const d = answer(orgId, await services.outboundStore.setDialing(orgId, input.allowedCountries, input.callsPerSecond));
    services.log.info({ orgId, allowedCountries: d.allowedCountries, callsPerSecond: d.callsPerSecond }, 'dialing permissions set');
    res.json(d);
  };
}
