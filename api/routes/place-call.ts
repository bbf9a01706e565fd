// POST /api/calls — an outbound call, gated before it exists (CONTRACT §10, failure mode 41).
// The body is checked here (the destination with libphonenumber-js: 422 when it is not a valid
// number); everything else — the Idempotency-Key's first answer, the caller's number, the rate,
// dialing permissions, capacity and the same admission as an inbound call — is one SQL
// transaction (shared/calls/outbound-calls.ts). Refusals hold and debit nothing.
import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import { parseDestination } from '../../shared/calls/destination';
import type { PlaceCallResult } from '../../shared/calls/outbound-calls';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { dashboardCaller } from '../middleware/dashboard-auth';
import { fingerprint, keyReused, requireIdempotencyKey } from '../middleware/idempotency';
import { parseBody } from '../middleware/validate';
import { vapiId } from './schemas';

/** Bound on the caller's metadata (it travels to Vapi and back on every message of the call). */
export const CALL_METADATA_MAX_BYTES = 4096;

const body = z.strictObject({
  assistantId: vapiId,
  phoneNumberId: vapiId,
  customer: z.strictObject({ number: z.string().min(1).max(32) }),
  metadata: z
    .record(z.string().max(100), z.unknown())
    .refine((m) => JSON.stringify(m).length <= CALL_METADATA_MAX_BYTES, `must be at most ${CALL_METADATA_MAX_BYTES} bytes of JSON`)
    .optional(),
});

const PLACING_MESSAGE = 'Vapi did not answer in time: the call may have been placed. Its money stays held until its fate is known; retry with the same Idempotency-Key to learn it (no second call is placed).';

function send(res: Response, r: PlaceCallResult): void {
  switch (r.kind) {
    case 'placed':
      res.status(201).json(r.body);
      return;
    case 'placing':
      res.status(202).json({ callId: r.callId, status: 'placing', message: PLACING_MESSAGE });
      return;
    case 'not_placed':
      res.status(502).json(r.body);
      return;
    case 'refused':
      throw refusal(r.admission);
  }
}

function refusal(a: Extract<PlaceCallResult, { kind: 'refused' }>['admission']): AppError {
  switch (a.outcome) {
    case 'insufficient_funds':
      return new AppError('insufficient_funds', 'The available balance is below what this call must hold.', {
        balance: a.balance,
        available: a.available,
        required: a.required,
        shortfall: a.shortfall,
        currency: a.currency,
      });
    case 'wallet_frozen':
      return new AppError('wallet_frozen', 'This wallet is frozen: no call can be placed until an operator unfreezes it.');
    case 'limit_reached':
      return new AppError('limit_reached', `This call would pass the organisation's ${a.limit}.`, { limit: a.limit });
    case 'destination_not_allowed':
      return new AppError(
        'destination_not_allowed',
        a.reason === 'blocked' ? 'Calls to this destination are blocked.' : "This destination's country is not among the organisation's allowed countries.",
        { destination: a.destination, reason: a.reason },
      );
    case 'number_past_due':
      return new AppError('number_past_due', "This number's monthly rent is unpaid: it places no call until a credit pays it.", { phoneNumberId: a.phone_number_id });
    case 'calls_per_second':
      return new AppError('calls_per_second', `This organisation may place at most ${a.limit} calls per second.`, { limit: a.limit });
    case 'platform_at_capacity':
      return new AppError('platform_at_capacity', 'The platform is placing as many calls as it can; try again shortly.');
    case 'unknown_phone_number':
      return new AppError('not_found', 'phoneNumberId is not a number of this organisation (our id or Vapi\'s).');
    case 'idempotency_key_reused':
      return keyReused();
    case 'not_found':
      return new AppError('not_found', 'This organisation has no wallet.');
  }
}

export function placeCall(services: Services): RequestHandler {
  return async (req, res) => {
    const { orgId } = dashboardCaller(req);
    const key = requireIdempotencyKey(req);
    const input = parseBody(body, req);
    const destination = parseDestination(input.customer.number);
    if (destination.kind === 'invalid') {
      throw new AppError('invalid_number', 'customer.number is not a valid E.164 phone number.', { destination: input.customer.number });
    }
    const r = await services.outbound.place({
      orgId,
      idempotencyKey: key,
      fingerprint: fingerprint('call', input),
      destination,
      phoneNumberId: input.phoneNumberId,
      assistantId: input.assistantId,
      metadata: input.metadata,
    });
    send(res, r);
  };
}
