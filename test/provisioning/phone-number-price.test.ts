// Proves failure mode 5 (a price defined in two places): with PHONE_NUMBER_PRICE set to a
// non-default value, that value is what the API reports, what the ledger debits and what the
// funds check requires. SQL receives the price from config.pricing and holds none of its own.
import { createFundedOrg } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { createProvisioningWorld, provision, type ProvisioningWorld } from '../support/provisioning';

describe('PHONE_NUMBER_PRICE (failure mode 5)', () => {
  let w: ProvisioningWorld;
  beforeAll(async () => {
    w = await createProvisioningWorld({ PHONE_NUMBER_PRICE: '1234' }, { workers: false });
  });
  afterEach(async () => expectLedgerConsistent(w.ctx.pool));
  afterAll(async () => w.close());

  it('charges the configured price, not a default in SQL or code', async () => {
    const orgId = await createFundedOrg(w.ctx.services, 2000);
    const res = await provision(w.ctx, orgId, 'priced', { areaCode: '415' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ charged: 1234, balance: 766 });
    const entry = await w.ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'phone_number'", [orgId]);
    expect(entry.rows).toEqual([{ amount: -1234 }]);
    const short = await provision(w.ctx, orgId, 'priced-2', { areaCode: '415' });
    expect(short.status).toBe(402);
    expect(short.body).toMatchObject({ balance: 766, required: 1234, shortfall: 468 });
  });
});
