// One provisioning attempt. Every step is safe to run twice (a job runs again after a stall):
//   (a) adopt a number already bought for this request (Twilio list by FriendlyName = request id),
//   (b) else search the area code and buy a candidate, named after the request,
//   (c) import it into Vapi as a bare number, looking it up first,
//   (d) record the managed number and complete the request in one SQL transaction.
// The database decides the state; this returns what the job should do next as a value.
import { classifyError } from './classify-error';
import type { ProvisioningDeps } from './provisioning-deps';
import type { ProvisioningRequest, ProvisioningStatus, PurchaseStep } from './provisioning-store';
import { releasePurchase } from './release-purchase';
import type { TwilioNumber } from '../clients/twilio-client';
import { VapiApiError } from '../clients/vapi-client';

/** Candidates asked for per search: enough to survive a few 21422 races, small to stay cheap. */
export const SEARCH_CANDIDATES = 5;

export type AttemptOutcome =
  | { kind: 'completed'; phoneNumber: string; attempts: number }
  | { kind: 'final'; status: ProvisioningStatus | 'not_found' }
  | { kind: 'retry'; error: string; attempts: number }
  | { kind: 'give_up'; reason: 'permanent' | 'exhausted'; error: string; attempts: number };

/** A step's own verdict, for failures that are not a Twilio/Vapi error. */
class StepError extends Error {
  constructor(
    readonly kind: 'permanent' | 'retryable',
    message: string,
  ) {
    super(message);
  }
}

/** The request left `provisioning` under us (e.g. the sweeper failed it): stop, buy nothing more. */
class LeftProvisioning extends Error {}

export async function runAttempt(deps: ProvisioningDeps, requestId: string): Promise<AttemptOutcome> {
  const started = await deps.provisioning.startAttempt(requestId);
  if (started.outcome === 'not_found') return { kind: 'final', status: 'not_found' };
  if (started.outcome === 'final') return { kind: 'final', status: started.request.status };
  const req = started.request;
  // What this run holds, as soon as it holds it, so that stopping early can release it.
  const held: Held = {};
  try {
    const bought = await acquireNumber(deps, req, held);
    const vapiPhoneNumberId = await importIntoVapi(deps, req, bought, held);
    const done = await deps.provisioning.complete(req.id, { phoneNumber: bought.phoneNumber, twilioSid: bought.sid, vapiPhoneNumberId });
    if (done.outcome === 'completed') {
      // A twin run (a stalled job whose first worker lived on) completed with another number:
      // release ours rather than leave it live and unbilled (failure mode 14).
      if (done.request.twilioSid !== bought.sid) await releaseTwin(deps, req.id, bought, vapiPhoneNumberId, done.request.vapiPhoneNumberId);
      return { kind: 'completed', phoneNumber: done.request.phoneNumber ?? bought.phoneNumber, attempts: req.attempts };
    }
    throw new LeftProvisioning(done.outcome);
  } catch (err) {
    if (err instanceof LeftProvisioning) return stopped(deps, req, held);
    const c = err instanceof StepError ? { kind: err.kind, message: err.message } : classifyError(err);
    if (c.kind === 'permanent' || c.kind === 'next_candidate') return { kind: 'give_up', reason: 'permanent', error: c.message, attempts: req.attempts };
    if (req.attempts >= req.maxAttempts) return { kind: 'give_up', reason: 'exhausted', error: c.message, attempts: req.attempts };
    const r = await deps.provisioning.markRetrying(req.id, c.message);
    if (r.outcome === 'retrying') return { kind: 'retry', error: c.message, attempts: req.attempts };
    return stopped(deps, req, held);
  }
}

interface Held {
  number?: TwilioNumber;
  vapiPhoneNumberId?: string;
}

/** Another path finished the request while this attempt ran: never leave a number live for it. */
async function stopped(deps: ProvisioningDeps, req: ProvisioningRequest, held: Held): Promise<AttemptOutcome> {
  const now = await deps.provisioning.load(req.id);
  if (now.outcome !== 'found') return { kind: 'final', status: 'not_found' };
  if (now.request.status === 'completed' && held.number !== undefined && held.number.sid !== now.request.twilioSid) {
    await releaseTwin(deps, req.id, held.number, held.vapiPhoneNumberId, now.request.vapiPhoneNumberId);
  }
  // A purchase may have been in flight when the request ended: look for it by name regardless.
  // This can run after the refund (the request is already refunded): a failure here is counted
  // and left to the reconciler, which releases any number no completed request owns.
  if (now.request.status !== 'completed') {
    await releasePurchase(deps, { ...now.request, purchaseAttempted: true, vapiImportAttempted: true, vapiPhoneNumberId: now.request.vapiPhoneNumberId ?? held.vapiPhoneNumberId ?? null }).catch((err: unknown) => {
      deps.metrics.numberReleaseFailures.inc({ path: 'stopped' });
      deps.log.error({ requestId: req.id, err: (err as Error).message }, 'could not release a number bought for a request that already ended; the reconciler will');
    });
  }
  return { kind: 'final', status: now.request.status };
}

async function releaseTwin(deps: ProvisioningDeps, requestId: string, n: TwilioNumber, vapiId: string | undefined, keptVapiId: string | null): Promise<void> {
  deps.log.warn({ requestId, sid: n.sid }, 'a concurrent run completed this request with another number; releasing ours');
  try {
    if (vapiId !== undefined && vapiId !== keptVapiId) await deps.vapi.deletePhoneNumber(vapiId);
    await deps.twilio.release(n.sid);
  } catch (err) {
    // The request is completed and billed; the twin is an orphan the reconciler will release.
    deps.metrics.numberReleaseFailures.inc({ path: 'twin' });
    deps.log.error({ requestId, sid: n.sid, err: (err as Error).message }, 'could not release a twin number; the reconciler will');
  }
}

async function note(deps: ProvisioningDeps, requestId: string, step: PurchaseStep): Promise<void> {
  const r = await deps.provisioning.noteStep(requestId, step);
  if (r.outcome !== 'noted') throw new LeftProvisioning(r.outcome);
}

async function acquireNumber(deps: ProvisioningDeps, req: ProvisioningRequest, held: Held): Promise<TwilioNumber> {
  // (a) Bought by an earlier attempt whose answer we never saw (failure mode 13)?
  const owned = await deps.twilio.findByFriendlyName(req.id);
  const first = owned[0];
  if (first !== undefined) {
    held.number = first;
    for (const extra of owned.slice(1)) await deps.twilio.release(extra.sid);
    await note(deps, req.id, { step: 'purchased', phoneNumber: first.phoneNumber, twilioSid: first.sid });
    return first;
  }
  // (b) Search and buy.
  const candidates = await deps.twilio.searchLocal(req.country, req.areaCode, SEARCH_CANDIDATES);
  if (candidates.length === 0) throw new StepError('permanent', `no numbers available in area code ${req.areaCode}`);
  await note(deps, req.id, { step: 'purchase' });
  for (const candidate of candidates) {
    try {
      const n = await deps.twilio.buy(candidate, req.id);
      held.number = n;
      await note(deps, req.id, { step: 'purchased', phoneNumber: n.phoneNumber, twilioSid: n.sid });
      return n;
    } catch (err) {
      if (err instanceof LeftProvisioning || classifyError(err).kind !== 'next_candidate') throw err;
    }
  }
  throw new StepError('retryable', `all ${candidates.length} candidate numbers in area code ${req.areaCode} were taken`);
}

async function importIntoVapi(deps: ProvisioningDeps, req: ProvisioningRequest, n: TwilioNumber, held: Held): Promise<string> {
  await note(deps, req.id, { step: 'vapi_import' });
  // An earlier attempt's import whose answer was lost: ours by name (the request id) and number,
  // over every page of the listing (Vapi lists 1000 at most per request). A number with our
  // E.164 under another name is not ours to adopt (failure mode 30).
  const existing = await ourVapiImport(deps, req, n);
  if (existing) return adoptImport(deps, req, held, existing);
  const { config } = deps;
  let created: { id: string };
  try {
    created = await deps.vapi.importTwilioNumber({
      number: n.phoneNumber,
      name: req.id,
      twilioAccountSid: config.twilio.accountSid,
      twilioAuthToken: config.twilio.authToken,
      serverUrl: `${config.publicBaseUrl.replace(/\/+$/, '')}/api/vapi/webhook`,
      serverSecret: config.auth.vapiWebhookSecret,
    });
  } catch (err) {
    // A twin run of this request (a stalled job whose worker lived on, or the sweeper's requeued
    // job) adopted the same Twilio number and imported it between our listing and our import:
    // Vapi refuses the number as already there. That import is ours to adopt; giving up here
    // failed and refunded a purchase whose number the twin had just made live.
    if (!(err instanceof VapiApiError) || err.status !== 400) throw err;
    const twin = await ourVapiImport(deps, req, n);
    if (twin === undefined) throw err;
    return adoptImport(deps, req, held, twin);
  }
  return adoptImport(deps, req, held, created);
}

/** This request's import of this number, if Vapi has one: by name (the request id) and number. */
async function ourVapiImport(deps: ProvisioningDeps, req: ProvisioningRequest, n: TwilioNumber): Promise<{ id: string } | undefined> {
  return (await deps.vapi.listPhoneNumbers()).find((p) => p.name === req.id && p.number === n.phoneNumber);
}

async function adoptImport(deps: ProvisioningDeps, req: ProvisioningRequest, held: Held, imported: { id: string }): Promise<string> {
  held.vapiPhoneNumberId = imported.id;
  await noteImport(deps, req.id, imported.id);
  return imported.id;
}

/** Records the Vapi id at once, so any later release deletes by this id (failure mode 30). */
async function noteImport(deps: ProvisioningDeps, requestId: string, vapiPhoneNumberId: string): Promise<void> {
  const r = await deps.provisioning.noteImport(requestId, vapiPhoneNumberId);
  if (r.outcome !== 'noted') throw new LeftProvisioning(r.outcome);
}
