// Compares what Twilio and Vapi hold with what the database says, and releases every number no
// completed request owns (failure modes 13 and 14, the cases no saga step can see): a purchase
// that landed after the worker's timeout and after the next attempt's lookup, a twin number whose
// release failed, a release in a stopped attempt that failed after the refund. Runs as the
// 'reconcile-numbers' task of the maintenance queue (a BullMQ job scheduler); reconcileNumbers is
// a plain function so tests can run one pass at a time.
//
// What it may touch: only numbers named after one of our requests (Twilio FriendlyName, Vapi
// name = a request id that exists in provisioning_requests); numbers of requests still in flight
// (queued, provisioning, retrying, failed — the refund job releases those) are left alone, and so
// is any number younger than RECONCILE_GRACE_SECONDS. Releases go by id: Vapi first (it points at
// the Twilio number), then Twilio by SID (failure mode 30). Every listing pages through the whole
// account; releases happen after the walk, so deleting never shifts a page still to be read.
import type { ProvisioningDeps } from '../shared/provisioning/provisioning-deps';
import { RECONCILE_LOOKUP_MAX, type RequestOwnership } from '../shared/provisioning/provisioning-store';
import { releaseAtProvider } from '../shared/provisioning/release-number';

export const RECONCILE_SCHEDULER_ID = 'reconcile-numbers';

/** A request id, as the worker names purchases and imports (provisioning_requests.id). */
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Requests whose numbers are theirs to keep or release: the reconciler only judges these. */
const FINAL = new Set(['completed', 'refunded']);

export interface ReconcileReport {
  twilioSeen: number;
  vapiSeen: number;
  released: { twilio: number; vapi: number };
  failed: number;
}

interface Orphan {
  provider: 'twilio' | 'vapi';
  id: string;
  requestId: string;
  phoneNumber: string | undefined;
  status: string;
}

export async function reconcileNumbers(deps: ProvisioningDeps, now: Date = new Date()): Promise<ReconcileReport> {
  const report: ReconcileReport = { twilioSeen: 0, vapiSeen: 0, released: { twilio: 0, vapi: 0 }, failed: 0 };
  const graceStart = now.getTime() - deps.config.reconcile.graceSeconds * 1000;
  const oldEnough = (createdAt: Date | string | undefined) => createdAt === undefined || new Date(createdAt).getTime() <= graceStart;
  const orphans: Orphan[] = [];

  await deps.vapi.eachPhoneNumberPage(async (page) => {
    report.vapiSeen += page.length;
    const named = page.filter((p) => typeof p.name === 'string' && REQUEST_ID.test(p.name));
    const owners = await ownersOf(deps, named.map((p) => p.name as string));
    for (const p of named) {
      const owner = owners.get(p.name as string);
      // Not a request of ours (numbers we did not buy), or still in flight: not ours to judge.
      if (owner === undefined || !FINAL.has(owner.status) || !oldEnough(p.createdAt)) continue;
      if (owner.status === 'completed' && owner.vapi_phone_number_id === p.id) continue;
      orphans.push({ provider: 'vapi', id: p.id, requestId: owner.id, phoneNumber: p.number, status: owner.status });
    }
  });
  await deps.twilio.eachOwnedPage(async (page) => {
    report.twilioSeen += page.length;
    const named = page.filter((n) => REQUEST_ID.test(n.friendlyName));
    const owners = await ownersOf(deps, named.map((n) => n.friendlyName));
    for (const n of named) {
      const owner = owners.get(n.friendlyName);
      if (owner === undefined || !FINAL.has(owner.status) || !oldEnough(n.createdAt)) continue;
      if (owner.status === 'completed' && owner.twilio_sid === n.sid) continue;
      orphans.push({ provider: 'twilio', id: n.sid, requestId: owner.id, phoneNumber: n.phoneNumber, status: owner.status });
    }
  });

  // Vapi first: its number points at the Twilio one.
  for (const o of [...orphans.filter((x) => x.provider === 'vapi'), ...orphans.filter((x) => x.provider === 'twilio')]) {
    try {
      if ((await releaseAtProvider(deps, o.provider, o.id)) === 'already_gone') continue;
      report.released[o.provider]++;
      deps.metrics.reconcilerReleases.inc({ provider: o.provider, outcome: 'released' });
      deps.log.warn({ ...o }, 'reconciler released a number no completed request owns');
    } catch (err) {
      // Still live: counted (the alert watches it) and tried again on the next pass.
      report.failed++;
      deps.metrics.reconcilerReleases.inc({ provider: o.provider, outcome: 'failed' });
      deps.log.error({ ...o, err: (err as Error).message }, 'reconciler could not release a number no completed request owns; next pass retries');
    }
  }
  if (orphans.length > 0) deps.log.warn({ ...report }, 'number reconciler finished');
  return report;
}

/** Owners of the named requests, in lookups of at most RECONCILE_LOOKUP_MAX ids. */
async function ownersOf(deps: ProvisioningDeps, ids: string[]): Promise<Map<string, RequestOwnership>> {
  const owners = new Map<string, RequestOwnership>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += RECONCILE_LOOKUP_MAX) {
    const r = await deps.provisioning.reconcileLookup(unique.slice(i, i + RECONCILE_LOOKUP_MAX));
    for (const o of r.requests) owners.set(o.id, o);
  }
  return owners;
}
