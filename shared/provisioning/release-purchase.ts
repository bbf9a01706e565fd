// Releases whatever was bought for a request that will not complete (failure mode 14): the Vapi
// phone number first (it points at the Twilio number), then every Twilio number named after the
// request. Steps that never sent a purchase or import have nothing to look for. Errors propagate:
// the caller (the refund job) retries, and only refunds once this has succeeded.
//
// Everything is found by an id or by the request's own name, never by the E.164 (failure mode
// 30): a released number can be re-issued to another organisation and imported into Vapi for it,
// and a repeated release of this request must not delete that import. Vapi: the id recorded at
// import, plus imports named after the request (one whose answer was lost); Twilio: the recorded
// sid, plus numbers whose FriendlyName is the request id.
import { assert } from '../errors';
import type { ProvisioningDeps } from './provisioning-deps';
import type { ProvisioningRequest } from './provisioning-store';

export interface Released {
  vapi: number;
  twilio: number;
}

export async function releasePurchase(deps: Pick<ProvisioningDeps, 'twilio' | 'vapi' | 'log'>, req: ProvisioningRequest): Promise<Released> {
  assert(req.status !== 'completed', `releasePurchase on completed request ${req.id}`);
  const released: Released = { vapi: 0, twilio: 0 };
  if (req.vapiImportAttempted || req.vapiPhoneNumberId !== null) {
    const ids = new Set((await deps.vapi.listPhoneNumbers()).filter((p) => p.name === req.id).map((p) => p.id));
    if (req.vapiPhoneNumberId !== null) ids.add(req.vapiPhoneNumberId);
    for (const id of ids) if ((await deps.vapi.deletePhoneNumber(id)) === 'deleted') released.vapi++;
  }
  if (req.purchaseAttempted || req.twilioSid !== null) {
    const sids = new Set((await deps.twilio.findByFriendlyName(req.id)).map((n) => n.sid));
    if (req.twilioSid !== null) sids.add(req.twilioSid);
    for (const sid of sids) if ((await deps.twilio.release(sid)) === 'released') released.twilio++;
  }
  if (released.vapi + released.twilio > 0) deps.log.info({ requestId: req.id, ...released }, 'released numbers bought for a failed request');
  return released;
}
