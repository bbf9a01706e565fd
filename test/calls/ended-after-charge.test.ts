// Proves issue 22, item 7 against real Redis and Postgres, through the webhook, the real
// call-billing worker and the dashboard's GET /api/wallet: a message about a call that is already
// settled changes no hold. Whatever order the call's "ended" status-update and its end-of-call
// report come in, once it is charged its wallet shows balance = available = 100 − charge, and
// neither store holds anything for it — also when the hold's record reached Postgres only after
// the charge (before: a live row of a paid call, which the "ended" then sized to a pence, leaving
// available 98 until it expired), and when the Redis release after the charge had failed (before:
// the "ended" sized the Redis entry instead of releasing it).
import request from 'supertest';
import { billCall } from '../../shared/calls/call-billing';
import { holdRecord } from '../../shared/calls/call-store';
import { startCallBillingWorker } from '../../workers/call-billing-worker';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { failReleases } from '../support/redis-faults';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber, type TestNumber } from '../support/vapi';
import { eventually } from '../support/eventually';

describe('an "ended" status-update after the call was charged', () => {
  let ctx: TestContext;
  let worker: ReturnType<typeof startCallBillingWorker>;
  beforeAll(async () => {
    ctx = await createTestContext();
    worker = startCallBillingWorker(ctx.services);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await worker.close(5000);
    await ctx.close();
  });

  // A call of 1 s at 56 per minute costs ceil(56 ÷ 60) = 1: the wallet of 100 ends at 99.
  const CHARGE = 1;
  const ended = (id: string, num: TestNumber) => ({
    message: { type: 'status-update', status: 'ended', endedReason: 'customer-ended-call', call: { id, phoneNumberId: num.vapiPhoneNumberId } },
  });
  const report = (id: string, orgId: string, num: TestNumber) => postWebhook(ctx.app(), endOfCallReport(id, { orgId, seconds: 1, num }));
  const recorded = (id: string) => eventually(async () => ((await ctx.pool.query('select 1 from calls where call_id = $1', [id])).rowCount === 1 ? true : undefined));
  const billed = (id: string) =>
    eventually(async () => ((await ctx.pool.query('select billed_at from call_reports where call_id = $1', [id])).rows[0]?.billed_at ? true : undefined));
  const redisHeld = (orgId: string) => ctx.services.calls.hot.held(orgId);

  async function admitted(orgId: string, num: TestNumber, id: string): Promise<void> {
    expect((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantId).toBe(num.assistantId);
    await recorded(id);
    expect(await redisHeld(orgId)).toBe(96); // the whole wallet but the margin: one hold of 96
  }

  /** balance = available = 100 − charge, and no hold of the call in either store (nor any other). */
  async function expectNothingHeld(orgId: string, id: string): Promise<void> {
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const wallet = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
    expect(wallet.status).toBe(200);
    expect({ balance: wallet.body.balance, available: wallet.body.available }).toEqual({ balance: 100 - CHARGE, available: 100 - CHARGE });
    expect(await redisHeld(orgId)).toBe(0);
    expect(await ctx.services.calls.store.holdsTotal(orgId)).toBe(0);
    const entry = await ctx.services.redis.hget(ctx.services.keys.holds(orgId), id);
    expect(entry?.charAt(0)).toBe('r');
    const { rows } = await ctx.pool.query('select hold_state, settled_at is not null as settled from calls where call_id = $1', [id]);
    expect(rows).toEqual([{ hold_state: 'released', settled: true }]);
  }

  it('report, then "ended": nothing held, balance = available = 100 − charge', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    await admitted(orgId, num, 'report-first');
    await report('report-first', orgId, num);
    await billed('report-first');
    await eventually(async () => ((await redisHeld(orgId)) === 0 ? true : undefined));
    await postWebhook(ctx.app(), ended('report-first', num));
    await expectNothingHeld(orgId, 'report-first');
  });

  it('"ended", then report: nothing held, balance = available = 100 − charge', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    await admitted(orgId, num, 'ended-first');
    await postWebhook(ctx.app(), ended('ended-first', num));
    expect(await redisHeld(orgId)).toBeLessThan(96); // sized to the seconds it lasted
    await report('ended-first', orgId, num);
    await billed('ended-first');
    await eventually(async () => ((await redisHeld(orgId)) === 0 ? true : undefined));
    await expectNothingHeld(orgId, 'ended-first');
  });

  it('keeps no live hold for a call whose hold record reached Postgres after its charge, whatever "ended" comes after', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    await admitted(orgId, num, 'late-record');
    // The gate's batched record had not landed when the report was billed (it waits up to 20 ms;
    // a failed one is written again by a renewal): Postgres has no row for the call yet.
    const meter = await ctx.services.calls.store.meter('late-record');
    if (meter.outcome !== 'found') throw new Error('no record');
    await ctx.pool.query('delete from calls where call_id = $1', ['late-record']);
    await report('late-record', orgId, num);
    await billed('late-record');
    await eventually(async () => ((await redisHeld(orgId)) === 0 ? true : undefined));
    // The record lands now, after the charge.
    expect((await ctx.services.calls.store.recordHolds([holdRecord(orgId, meter.hold, 'metered', meter.held_seconds ?? 0)])).rejected).toBe(0);
    await postWebhook(ctx.app(), ended('late-record', num));
    await expectNothingHeld(orgId, 'late-record');
  });

  it('releases, not resizes, the Redis hold of a charged call whose release had failed when its "ended" comes', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    await admitted(orgId, num, 'release-lost');
    // The report, recorded (no billing job: this test bills it itself).
    const endedAt = new Date();
    await ctx.services.calls.store.recordReport({
      callId: 'release-lost',
      orgId,
      vapiPhoneNumberId: num.vapiPhoneNumberId,
      e164: null,
      startedAt: new Date(endedAt.getTime() - 1000).toISOString(),
      endedAt: endedAt.toISOString(),
      durationSeconds: 1,
      endedReason: 'customer-ended-call',
      source: 'webhook',
    });
    // Charged with the Redis release failing once and nothing retrying it (as a sweeper-settled
    // call, or a billing job whose retries ran out): Redis still holds 96 for a paid call.
    const restore = failReleases(ctx.services.redis, 1);
    try {
      expect(await billCall(ctx.services.calls.billing, 'release-lost', 'sweeper')).toMatchObject({ outcome: 'charged', amount: CHARGE });
    } finally {
      restore();
    }
    expect(await redisHeld(orgId)).toBe(96);
    await postWebhook(ctx.app(), ended('release-lost', num));
    await expectNothingHeld(orgId, 'release-lost');
  });
});
