// Proves CONTRACT §6's sandbox table end to end: HTTP API -> SQL debit -> BullMQ job -> real
// workers -> Twilio and Vapi simulators over HTTP (through the real twilio SDK) -> SQL completion
// or refund. Each row ends in the stated status, attempts and balance; 997 buys exactly one number.
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { balanceOf, createProvisioningWorld, numbersNamed, provision, vapiNumbers, waitForRequest, type ProvisioningWorld } from '../support/provisioning';

const PRICE = 1000;

describe('sandbox fault table', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({ PUBLIC_BASE_URL: 'https://gates.example.com' });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  async function run(areaCode: string, extra: Record<string, unknown> = {}) {
    const orgId = await createFundedOrg(w.ctx.services, 2500);
    const res = await provision(w.ctx, orgId, `key-${areaCode}`, { areaCode, ...extra });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      requestId: expect.any(String),
      status: 'queued',
      statusUrl: `/api/managed-telephony/provisioning/${res.body.requestId}`,
      charged: PRICE,
      currency: 'gbp',
      balance: 1500,
    });
    const final = await waitForRequest(w.ctx, orgId, res.body.requestId);
    return { orgId, requestId: res.body.requestId as string, final };
  }

  it('area code 415 completes on the first attempt with a bare Vapi number pointing at our webhook', async () => {
    const { orgId, requestId, final } = await run('415', { assistantId: 'asst-1' });
    expect(final).toMatchObject({ status: 'completed', attempts: 1, maxAttempts: 5, areaCode: '415', error: null, charged: PRICE, refunded: 0, currency: 'gbp' });
    expect(final.phoneNumber).toMatch(/^\+1415555\d{4}$/);
    expect(await balanceOf(w.ctx, orgId)).toBe(1500);
    const bought = await numbersNamed(w.twilio, requestId);
    expect(bought.map((n) => n.phone_number)).toEqual([final.phoneNumber]);
    const imported = (await vapiNumbers(w.vapi)).filter((p) => p.number === final.phoneNumber);
    expect(imported).toHaveLength(1);
    expect(imported[0]).toMatchObject({ assistantId: null, server: { url: 'https://gates.example.com/api/vapi/webhook' } });
    const row = await w.ctx.pool.query('select org_id, e164, assistant_id, source, vapi_phone_number_id, twilio_sid from phone_numbers where e164 = $1', [final.phoneNumber]);
    expect(row.rows).toEqual([{ org_id: orgId, e164: final.phoneNumber, assistant_id: 'asst-1', source: 'provisioned', vapi_phone_number_id: imported[0]?.id, twilio_sid: bought[0]?.sid }]);
    const cached = await w.ctx.services.cache.get(orgId);
    expect(cached?.balance).toBe(1500);
  });

  it('area code 000 (no numbers, 21452) is refunded after one attempt and nothing is bought', async () => {
    const { orgId, requestId, final } = await run('000');
    expect(final).toMatchObject({ status: 'refunded', attempts: 1, phoneNumber: null, charged: PRICE, refunded: PRICE });
    expect(String(final.error)).toMatch(/21452/);
    expect(await balanceOf(w.ctx, orgId)).toBe(2500);
    expect(await numbersNamed(w.twilio, requestId)).toEqual([]);
    expect((await w.ctx.services.cache.get(orgId))?.balance).toBe(2500);
  });

  it('area code 999 (503 on every request) is refunded after PROVISION_MAX_ATTEMPTS attempts', async () => {
    const { orgId, final } = await run('999');
    expect(final).toMatchObject({ status: 'refunded', attempts: 5, maxAttempts: 5, phoneNumber: null, refunded: PRICE });
    expect(await balanceOf(w.ctx, orgId)).toBe(2500);
    expect((await w.ctx.services.cache.get(orgId))?.balance).toBe(2500);
  });

  it('area code 998 (503 on the first two purchases) completes with attempts 3', async () => {
    const { orgId, requestId, final } = await run('998');
    expect(final).toMatchObject({ status: 'completed', attempts: 3, refunded: 0 });
    expect(await numbersNamed(w.twilio, requestId)).toHaveLength(1);
    expect(await balanceOf(w.ctx, orgId)).toBe(1500);
  });

  it('area code 997 (first purchase made but answered 504) completes with attempts 2 and exactly one number bought', async () => {
    const { orgId, requestId, final } = await run('997');
    expect(final).toMatchObject({ status: 'completed', attempts: 2, refunded: 0 });
    const bought = await numbersNamed(w.twilio, requestId);
    expect(bought).toHaveLength(1);
    expect(bought[0]?.phone_number).toBe(final.phoneNumber);
    expect(w.twilio.purchaseRequests.get(requestId)).toBe(1);
    expect(await balanceOf(w.ctx, orgId)).toBe(1500);
  });

  it('shows provisioning, retrying with attempts, and completed while it happens', async () => {
    w.twilio.faults.purchaseLatencyMs = 150;
    try {
      const orgId = await createFundedOrg(w.ctx.services, 1000);
      const res = await provision(w.ctx, orgId, 'watch-998', { areaCode: '998' });
      const seen: string[] = [];
      const attemptsWhileRetrying = new Set<number>();
      const final = await waitForRequest(w.ctx, orgId, res.body.requestId, {
        seen,
        until: (b) => {
          if (b.status === 'retrying') attemptsWhileRetrying.add(Number(b.attempts));
          return b.status === 'completed' || b.status === 'refunded';
        },
      });
      expect(final.status).toBe('completed');
      expect(seen).toContain('provisioning');
      expect(seen).toContain('retrying');
      expect(seen[seen.length - 1]).toBe('completed');
      expect([...attemptsWhileRetrying].every((a) => a === 1 || a === 2)).toBe(true);
      expect(attemptsWhileRetrying.size).toBeGreaterThan(0);
    } finally {
      w.twilio.faults.purchaseLatencyMs = 0;
    }
  });
});
