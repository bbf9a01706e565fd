// Proves that renewals of many live calls on one wallet never together exceed it, whichever store
// decides: 20 metered calls on one wallet ask for their next slice at once, through the Redis
// step (Lua call_meter_renew) and through the Postgres step (call_meter_renew under the wallet
// row lock); exactly as many are granted as the available balance covers, the rest are told the
// money is exhausted, and a replayed renewal grants nothing twice.
import { callCharge } from '../../shared/pricing';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

describe('renewals of many calls on one wallet', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const slice = () => callCharge(ctx.config.pricing, ctx.config.callGate.holdSeconds); // 112
  const rate = () => ctx.config.pricing.callRatePerMinute;

  async function admitCalls(balance: number, n: number, prefix: string): Promise<{ orgId: string; ids: string[] }> {
    const orgId = await createFundedOrg(ctx.services, balance);
    const num = await registerNumber(ctx.services, orgId);
    const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const id of ids) expect((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, ids);
    return { orgId, ids };
  }

  it('grants, through Redis, exactly the slices the wallet covers to 20 calls renewing at once', async () => {
    // 20 slices of 112 admitted on 20 × 112 + 5 × 112 + 50: five more slices fit, not six.
    const balance = 25 * 112 + 50;
    const { orgId, ids } = await admitCalls(balance, 20, 'rr');
    const results = await Promise.all(ids.map((id) => ctx.services.calls.hot.renew(orgId, id, 2, slice(), rate())));
    expect(results.filter((r) => r.outcome === 'renewed')).toHaveLength(5);
    expect(results.filter((r) => r.outcome === 'exhausted')).toHaveLength(15);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(25 * 112);
    // A replayed renewal (the same slice number) grants nothing more.
    const again = await Promise.all(ids.map((id) => ctx.services.calls.hot.renew(orgId, id, 2, slice(), rate())));
    expect(again.filter((r) => r.outcome === 'already')).toHaveLength(5);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(25 * 112);
  });

  it('grants, through Postgres, exactly the slices the wallet covers to 20 calls renewing at once', async () => {
    const balance = 25 * 112 + 50;
    const { orgId, ids } = await admitCalls(balance, 20, 'pr');
    const results = await Promise.all(ids.map((id) => ctx.services.calls.store.renew(id, 2, slice(), rate(), Date.now())));
    expect(results.filter((r) => r.outcome === 'renewed')).toHaveLength(5);
    expect(results.filter((r) => r.outcome === 'exhausted')).toHaveLength(15);
    expect(await ctx.services.calls.store.holdsTotal(orgId)).toBe(25 * 112);
    const again = await Promise.all(ids.map((id) => ctx.services.calls.store.renew(id, 2, slice(), rate(), Date.now())));
    expect(again.filter((r) => r.outcome === 'already')).toHaveLength(5);
    expect(await ctx.services.calls.store.holdsTotal(orgId)).toBe(25 * 112);
  });
});
