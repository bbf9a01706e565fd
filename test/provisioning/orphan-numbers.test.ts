// Proves that no number stays live unless a completed request owns it (failure modes 13, 14) and
// that releases never touch another organisation's number (failure mode 30). Real Postgres,
// Redis and BullMQ workers; the Twilio and Vapi simulators over HTTP, driven by the real SDKs.
// The simulators land a purchase after the client's timeout (lateLandings) and re-issue a
// released number (reissued), as Twilio does; the reconciler runs on its BullMQ job scheduler.
import { createFundedOrg, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { expectLedgerConsistent } from '../support/invariants';
import {
  balanceOf, createProvisioningWorld, failedAfterImport, numbersNamed, provision, requestWithoutJob, waitForRequest, type ProvisioningWorld,
} from '../support/provisioning';
import { releasePurchase } from '../../shared/provisioning/release-purchase';
import { refundRequest } from '../../shared/provisioning/settle-request';
import { reconcileNumbers } from '../../workers/number-reconciler';

async function counter(ctx: TestContext, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await ctx.services.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0) ?? 0;
}

describe('numbers no completed request owns', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({
      PUBLIC_BASE_URL: 'https://gates.example.com',
      TWILIO_API_TIMEOUT_MS: '400',
      RECONCILE_INTERVAL_MS: '300',
      RECONCILE_GRACE_SECONDS: '1',
    });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  it('completes a request once and releases the number whose purchase landed after the worker timed out', async () => {
    // Attempt 1's purchase outlives the client's timeout and lands after attempt 2's lookup by
    // FriendlyName, so attempt 2 buys a second number: only the reconciler can find the first.
    w.twilio.lateLandings.count = 1;
    w.twilio.lateLandings.afterMs = 1500;
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    const releasedBefore = await counter(w.ctx, 'billing_gates_reconciler_releases_total', { provider: 'twilio' });
    const res = await provision(w.ctx, orgId, 'late-landing', { areaCode: '303' });
    const id = res.body.requestId as string;
    const final = await waitForRequest(w.ctx, orgId, id);
    expect(final).toMatchObject({ status: 'completed', attempts: 2, refunded: 0 });
    // The late purchase lands, and is then released: one live number, the request's own.
    const made = () => w.twilio.requests.filter((r) => r.method === 'POST' && r.form.FriendlyName === id && r.status === 201).length;
    await eventually(async () => made() === 2, { what: 'the late purchase landed (two purchases made for the request)', timeoutMs: 15_000 });
    await eventually(
      async () => {
        const live = await numbersNamed(w.twilio, id);
        return live.length === 1 && live[0]?.phone_number === final.phoneNumber;
      },
      { what: 'only the completed number is left', timeoutMs: 15_000 },
    );
    expect(await counter(w.ctx, 'billing_gates_reconciler_releases_total', { provider: 'twilio' })).toBeGreaterThan(releasedBefore);
    expect([...w.vapi.phoneNumbers.values()].filter((p) => p.name === id).map((p) => p.number)).toEqual([final.phoneNumber]);
    const debits = await w.ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'phone_number'", [orgId]);
    expect(debits.rows[0].n).toBe(1);
    const rows = await w.ctx.pool.query('select e164 from phone_numbers where org_id = $1', [orgId]);
    expect(rows.rows).toEqual([{ e164: final.phoneNumber }]);
    expect(await balanceOf(w.ctx, orgId)).toBe(0);
  });

  it("never deletes another organisation's Vapi number when a released number is re-issued to it and the first request's refund runs again", async () => {
    const orgA = await createFundedOrg(w.ctx.services, 1000);
    const a = await failedAfterImport(w, orgA, 'reissue-a', '646');
    // The refund job's first try released A's numbers, then its refund step failed: it will run again.
    const loaded = await w.ctx.services.provisioning.load(a.id);
    if (loaded.outcome !== 'found') throw new Error('request A not found');
    await releasePurchase(w.ctx.services, loaded.request);
    expect(w.vapi.phoneNumbers.has(a.vapiId)).toBe(false);
    // Twilio re-issues the released number; organisation B buys it and imports it into Vapi.
    w.twilio.reissued.push(a.phoneNumber);
    const orgB = await createFundedOrg(w.ctx.services, 1000);
    const resB = await provision(w.ctx, orgB, 'reissue-b', { areaCode: '646' });
    const b = await waitForRequest(w.ctx, orgB, resB.body.requestId as string);
    expect(b).toMatchObject({ status: 'completed', phoneNumber: a.phoneNumber });
    const vapiB = [...w.vapi.phoneNumbers.values()].filter((p) => p.number === a.phoneNumber);
    expect(vapiB.map((p) => p.name)).toEqual([b.requestId]);
    // A's refund runs again (the retry): it must touch nothing of B's.
    expect(await refundRequest(w.ctx.services, a.id)).toBe('refunded');
    expect(w.vapi.phoneNumbers.has(vapiB[0]?.id ?? '')).toBe(true);
    expect((await numbersNamed(w.twilio, b.requestId as string)).map((n) => n.phone_number)).toEqual([a.phoneNumber]);
    const rowB = await w.ctx.pool.query('select vapi_phone_number_id from phone_numbers where org_id = $1', [orgB]);
    expect(rowB.rows).toEqual([{ vapi_phone_number_id: vapiB[0]?.id }]);
    expect(await balanceOf(w.ctx, orgA)).toBe(1000);
  });

  it('releases what a refunded request left live (Vapi by id, then Twilio by sid), and leaves numbers it did not buy or of requests in flight alone', async () => {
    const s = w.ctx.services;
    const orgId = await createFundedOrg(w.ctx.services, 3000);
    // A refunded request whose numbers are still live (its release failed and was only logged).
    const left = await failedAfterImport(w, orgId, 'left-live', '720');
    await w.ctx.pool.query('select provision_request_refund($1)', [left.id]);
    // A request still in flight that has bought its number.
    const inFlight = await requestWithoutJob(w, orgId, 'in-flight', '720');
    const [c1] = await s.twilio.searchLocal('US', '720', 1);
    const flying = await s.twilio.buy(c1 ?? '', inFlight);
    // Numbers this service did not buy: other names on the same Twilio account and in Vapi.
    const [c2] = await s.twilio.searchLocal('US', '720', 1);
    const foreign = await s.twilio.buy(c2 ?? '', 'front-desk line');
    const [c3] = await s.twilio.searchLocal('US', '720', 1);
    const foreignUuid = await s.twilio.buy(c3 ?? '', '2b0c5a4e-0000-4000-8000-000000000001');
    const foreignVapi = await s.vapi.importTwilioNumber({ number: '+15550001111', name: 'someone else', twilioAccountSid: w.ctx.config.twilio.accountSid, twilioAuthToken: 'x', serverUrl: 'https://x.example.com', serverSecret: 'x' });
    // Past the grace, so only ownership decides.
    for (const n of w.twilio.owned.values()) n.createdAt = new Date(Date.now() - 60_000);
    for (const p of w.vapi.phoneNumbers.values()) p.createdAt = new Date(Date.now() - 60_000).toISOString();

    await reconcileNumbers(s);
    expect(w.vapi.phoneNumbers.has(left.vapiId)).toBe(false);
    expect(w.twilio.owned.has(left.sid)).toBe(false);
    expect(w.twilio.owned.has(flying.sid)).toBe(true);
    expect(w.twilio.owned.has(foreign.sid)).toBe(true);
    expect(w.twilio.owned.has(foreignUuid.sid)).toBe(true);
    expect(w.vapi.phoneNumbers.has(foreignVapi.id)).toBe(true);
    // Vapi first: the Vapi number points at the Twilio one.
    const deletes = w.twilio.requests.filter((r) => r.method === 'DELETE' && r.path.includes(left.sid));
    expect(deletes.length).toBeGreaterThan(0);
  });
});
