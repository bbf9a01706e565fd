// Proves the finding behind "about a third of 997 requests complete with attempts 1": concurrent
// 997 requests are offered the same candidate numbers, so all but one lose their first purchase
// to 21422. The simulator used to count that refused purchase as "the first purchase under the
// FriendlyName" and spend the 504 fault on it; the next candidate then succeeded on the first
// attempt. CONTRACT §6 says the first purchase *made* is answered 504, so every request must end
// completed with attempts 2 and exactly one number, however many race. Real workers, simulators
// over HTTP, the real twilio SDK.
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createProvisioningWorld, numbersNamed, provision, waitForRequest, type ProvisioningWorld } from '../support/provisioning';
import { SEARCH_CANDIDATES } from '../../shared/provisioning/run-attempt';

/**
 * Fewer racers than candidates per search: each attempt then finds a free candidate whatever the
 * others took (with more, a racer can lose all of them and legitimately need a third attempt).
 */
const RACERS = SEARCH_CANDIDATES - 1;

describe('area code 997 under concurrent requests', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld();
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  it('completes every concurrent 997 request with attempts 2 and one number, even when they race for the same candidates', async () => {
    // A purchase slow enough that the racers' searches all happen before the first one lands.
    w.twilio.faults.purchaseLatencyMs = 100;
    try {
      const orgs = await Promise.all(Array.from({ length: RACERS }, () => createFundedOrg(w.ctx.services, 1000)));
      const ids = await Promise.all(
        orgs.map(async (orgId, i) => {
          const res = await provision(w.ctx, orgId, `race-997-${i}`, { areaCode: '997' });
          expect(res.status).toBe(202);
          return { orgId, id: res.body.requestId as string };
        }),
      );
      const finals = await Promise.all(ids.map(({ orgId, id }) => waitForRequest(w.ctx, orgId, id)));
      // At least one racer really lost a candidate to another (else this test proves nothing).
      const refused = w.twilio.requests.filter((r) => r.method === 'POST' && (r.response as { code?: number } | undefined)?.code === 21422);
      expect(refused.length).toBeGreaterThan(0);
      expect(finals.map((f) => [f.status, f.attempts])).toEqual(ids.map(() => ['completed', 2]));
      for (const [i, { id }] of ids.entries()) {
        expect((await numbersNamed(w.twilio, id)).map((n) => n.phone_number)).toEqual([finals[i]?.phoneNumber]);
      }
    } finally {
      w.twilio.faults.purchaseLatencyMs = 0;
    }
  });
});
