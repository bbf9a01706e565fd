// Proves that a phone number is charged in the currency its price is in: a wallet whose currency
// has no price is refused with 422 currency_not_priced and nothing is debited, recorded or
// queued (rather than being charged the gbp amount as cents); a currency priced by
// PHONE_NUMBER_PRICES is charged that price. Real Postgres and Redis, through the HTTP API.
import { expectLedgerConsistent } from '../support/invariants';
import { balanceOf, createProvisioningWorld, provision, type ProvisioningWorld } from '../support/provisioning';
import type { Services } from '../../shared/process/services';

async function fundedOrgIn(services: Services, currency: string, balance: number): Promise<string> {
  const org = await services.store.createOrg({ name: `In ${currency}`, currency });
  if (org.outcome !== 'created') throw new Error('fixture org not created');
  const r = await services.wallet.credit({ orgId: org.org_id, amount: balance, idempotencyKey: `fixture-${org.org_id}`, fingerprint: 'f'.repeat(64), reason: 'fixture' });
  if (r.outcome !== 'credited') throw new Error('fixture credit failed');
  return org.org_id;
}

describe('phone number prices carry their currency', () => {
  describe('priced only in gbp', () => {
    let w: ProvisioningWorld;
    beforeAll(async () => {
      w = await createProvisioningWorld({ CURRENCY: 'gbp', PHONE_NUMBER_PRICE: '1000' }, { workers: false });
    });
    afterEach(async () => expectLedgerConsistent(w.ctx.pool));
    afterAll(async () => w.close());

    it('refuses a usd wallet with 422 currency_not_priced and debits nothing', async () => {
      const orgId = await fundedOrgIn(w.ctx.services, 'usd', 5000);
      const res = await provision(w.ctx, orgId, 'usd-wallet', { areaCode: '415' });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: 'currency_not_priced', currency: 'usd', pricedCurrencies: ['gbp'] });
      expect(await balanceOf(w.ctx, orgId)).toBe(5000);
      const entries = await w.ctx.pool.query("select count(*)::int as n from ledger_entries where org_id = $1 and kind = 'phone_number'", [orgId]);
      expect(entries.rows[0].n).toBe(0);
      const rows = await w.ctx.pool.query('select count(*)::int as n from provisioning_requests where org_id = $1', [orgId]);
      expect(rows.rows[0].n).toBe(0);
      expect(await w.ctx.services.queues.provisioning.count()).toBe(0);
      // The same key gets the same answer.
      const again = await provision(w.ctx, orgId, 'usd-wallet', { areaCode: '415' });
      expect(again.status).toBe(422);
      expect(again.body.error).toBe('currency_not_priced');
    });
  });

  describe('priced per currency by configuration', () => {
    let w: ProvisioningWorld;
    beforeAll(async () => {
      w = await createProvisioningWorld({ CURRENCY: 'gbp', PHONE_NUMBER_PRICE: '1000', PHONE_NUMBER_PRICES: 'usd:1300,eur:1150', PHONE_NUMBER_MONTHLY_PRICES: 'usd:1300,eur:1150' }, { workers: false });
    });
    afterEach(async () => expectLedgerConsistent(w.ctx.pool));
    afterAll(async () => w.close());

    it('charges a usd wallet the usd price, and a gbp wallet the gbp one', async () => {
      const usd = await fundedOrgIn(w.ctx.services, 'usd', 5000);
      const res = await provision(w.ctx, usd, 'usd-priced', { areaCode: '415' });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ charged: 1300, currency: 'usd', balance: 3700 });
      const gbp = await fundedOrgIn(w.ctx.services, 'gbp', 5000);
      const res2 = await provision(w.ctx, gbp, 'gbp-priced', { areaCode: '415' });
      expect(res2.body).toMatchObject({ charged: 1000, currency: 'gbp', balance: 4000 });
    });
  });
});
