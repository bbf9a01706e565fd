// Releasing a number we hold, by id: the one path the reconciler (workers/number-reconciler.ts)
// and the rental (shared/rental/release-rented-number.ts) share. Vapi first — its number points at
// the Twilio one — then Twilio by SID; never by E.164, which can be re-issued to someone else
// (failure mode 30). "Already gone" (Vapi 404, Twilio 20404) counts as done; anything else throws,
// and the number is still live: the caller retries.
import type { ProvisioningDeps } from './provisioning-deps';

export type Provider = 'vapi' | 'twilio';
export type ProviderRelease = 'released' | 'already_gone';

/** One provider's number, by its id there (Vapi phone-number id, Twilio PN… SID). */
export async function releaseAtProvider(deps: Pick<ProvisioningDeps, 'twilio' | 'vapi'>, provider: Provider, id: string): Promise<ProviderRelease> {
  if (provider === 'vapi') return (await deps.vapi.deletePhoneNumber(id)) === 'deleted' ? 'released' : 'already_gone';
  return deps.twilio.release(id);
}

/** A number at both providers: Vapi by id, then Twilio by SID (either may be unknown: skipped). */
export async function releaseNumberByIds(
  deps: Pick<ProvisioningDeps, 'twilio' | 'vapi'>,
  ids: { vapiPhoneNumberId: string | null; twilioSid: string | null },
): Promise<{ vapi: ProviderRelease | 'none'; twilio: ProviderRelease | 'none' }> {
  const vapi = ids.vapiPhoneNumberId === null ? 'none' : await releaseAtProvider(deps, 'vapi', ids.vapiPhoneNumberId);
  const twilio = ids.twilioSid === null ? 'none' : await releaseAtProvider(deps, 'twilio', ids.twilioSid);
  return { vapi, twilio };
}
