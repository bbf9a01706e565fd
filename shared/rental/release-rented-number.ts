// Releasing a rented number (CONTRACT §11): after its grace ran out unpaid, or because the customer
// asked (DELETE /api/numbers/:id). The database already says `releasing` (no rent is charged from
// that moment, calls are refused); this releases it at Vapi, then at Twilio, by id (the
// reconciler's path, shared/provisioning/release-number.ts), and only then records it `released`
// (phone_number_release_finish, which sends number.released). A provider that fails leaves it
// `releasing`: counted, and the rent sweep tries again on every run until it is gone — a number
// recorded released while still live at Twilio would be billed to the platform by no one.
import { forgetNumber } from '../calls/number-resolver';
import { releaseNumberByIds } from '../provisioning/release-number';
import { graceSeconds, type RentalDeps } from './rental-deps';
import type { RentedNumber } from './rental-store';

export class NumberReleaseFailed extends Error {
  override name = 'NumberReleaseFailed';
}

/** Drops the gate's cached answer for a number whose status changed; a failure only costs the cache TTL. */
export async function forgetCachedNumber(d: Pick<RentalDeps, 'redis' | 'keys' | 'log'>, n: RentedNumber): Promise<void> {
  await forgetNumber(d.redis, d.keys, n).catch((err: unknown) =>
    d.log.warn({ numberId: n.id, err: (err as Error).message }, 'could not drop a number from the cache; its old status lives until CALL_NUMBER_CACHE_TTL_SECONDS'),
  );
}

/** Releases a `releasing` number at both providers and records it released. Throws NumberReleaseFailed while it is still live. */
export async function releaseRentedNumber(d: RentalDeps, n: RentedNumber): Promise<RentedNumber> {
  const reason = n.releaseReason ?? 'customer';
  await forgetCachedNumber(d, n);
  try {
    await releaseNumberByIds(d, { vapiPhoneNumberId: n.vapiPhoneNumberId, twilioSid: n.twilioSid });
  } catch (err) {
    d.metrics.numberReleases.inc({ reason, outcome: 'failed' });
    d.log.error({ numberId: n.id, orgId: n.orgId, reason, err: (err as Error).message }, 'could not release a rented number at Vapi or Twilio; the rent sweep tries again');
    throw new NumberReleaseFailed(`release of number ${n.id} failed: ${(err as Error).message}`, { cause: err });
  }
  const f = await d.rental.finishRelease(n.id, graceSeconds(d.config));
  if (f.outcome === 'not_found') throw new Error(`invariant violated: number ${n.id} vanished during its release`);
  if (f.outcome === 'released') {
    d.metrics.numberReleases.inc({ reason, outcome: 'released' });
    d.metrics.numberStatusChanges.inc({ status: 'released' });
    d.log.info({ numberId: n.id, orgId: n.orgId, reason }, 'rented number released at Vapi and Twilio');
  }
  return f.number;
}
