// Proves that provisioning finds its own Vapi numbers however many the account holds: Vapi lists
// at most 1000 per request (newest first), so a lookup that reads one page misses older numbers.
// The import's duplicate check then fails with Vapi's 400 (a permanent failure and a refund for
// a number that was in fact imported), and cleanup leaves numbers live. 1,500 numbers in the
// simulator, real workers, the real SDKs over HTTP.
import { randomUUID } from 'node:crypto';
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createProvisioningWorld, failedAfterImport, requestWithoutJob, waitForRequest, type ProvisioningWorld } from '../support/provisioning';
import { refundRequest } from '../../shared/provisioning/settle-request';
import { provisioningJobOptions } from '../../shared/queues/queues';

const OTHERS = 1500;

describe('Vapi listings beyond 1000 numbers', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({ PUBLIC_BASE_URL: 'https://gates.example.com' });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  /** Numbers imported after ours by other requests: they come first in Vapi's newest-first list. */
  function importOthers(): void {
    const base = Date.now() + 1000;
    for (let i = 0; i < OTHERS; i++) {
      const at = new Date(base + i).toISOString();
      const id = randomUUID();
      w.vapi.phoneNumbers.set(id, {
        id, orgId: 'vapi-org', provider: 'twilio', number: `+1555${String(1_000_000 + i).padStart(7, '0')}`, name: randomUUID(), assistantId: null,
        twilioAccountSid: w.ctx.config.twilio.accountSid, server: null, status: 'active', createdAt: at, updatedAt: at,
      });
    }
  }

  it('adopts its own earlier import behind 1,500 newer numbers instead of failing on the duplicate', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    // An earlier attempt bought and imported the number; both answers were lost.
    const s = w.ctx.services;
    const id = await requestWithoutJob(w, orgId, 'import-found', '512');
    const [candidate] = await s.twilio.searchLocal('US', '512', 1);
    const bought = await s.twilio.buy(candidate ?? '', id);
    const imported = await s.vapi.importTwilioNumber({ number: bought.phoneNumber, name: id, twilioAccountSid: w.ctx.config.twilio.accountSid, twilioAuthToken: 'x', serverUrl: 'https://gates.example.com/api/vapi/webhook', serverSecret: 'x' });
    importOthers();
    await s.queues.provisioning.add('provision', { requestId: id }, provisioningJobOptions(w.ctx.config, id));
    const final = await waitForRequest(w.ctx, orgId, id);
    expect(final).toMatchObject({ status: 'completed', phoneNumber: bought.phoneNumber });
    const row = await w.ctx.pool.query('select vapi_phone_number_id from phone_numbers where org_id = $1', [orgId]);
    expect(row.rows).toEqual([{ vapi_phone_number_id: imported.id }]);
    expect([...w.vapi.phoneNumbers.values()].filter((p) => p.number === bought.phoneNumber)).toHaveLength(1);
  });

  it('releases its own import behind 1,500 newer numbers before refunding', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 1000);
    const failed = await failedAfterImport(w, orgId, 'cleanup-found', '513');
    importOthers();
    expect(await refundRequest(w.ctx.services, failed.id)).toBe('refunded');
    expect(w.vapi.phoneNumbers.has(failed.vapiId)).toBe(false);
    expect(w.twilio.owned.has(failed.sid)).toBe(false);
    expect(w.vapi.phoneNumbers.size).toBeGreaterThanOrEqual(OTHERS);
  });
});
