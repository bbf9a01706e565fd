// POST /api/admin/phone-numbers — registers a number that exists already, so its calls are gated.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { Services } from '../../shared/process/services';
import { parseBody } from '../middleware/validate';
import { e164, uuid, vapiId } from './schemas';

const body = z.strictObject({
  orgId: uuid,
  phoneNumber: e164,
  vapiPhoneNumberId: vapiId,
  assistantId: vapiId,
});

export function registerPhoneNumber({ store }: Services): RequestHandler {
  return async (req, res) => {
    const input = parseBody(body, req);
    const r = await store.registerPhoneNumber({
      orgId: input.orgId,
      e164: input.phoneNumber,
      vapiPhoneNumberId: input.vapiPhoneNumberId,
      assistantId: input.assistantId,
    });
    switch (r.outcome) {
      case 'registered':
        res.status(201).json({ id: r.id, ...input });
        return;
      case 'not_found':
        throw new AppError('not_found', 'No such organisation.');
      case 'number_taken':
        throw new AppError('conflict', 'This phone number or Vapi phone number id is already registered.');
    }
  };
}
