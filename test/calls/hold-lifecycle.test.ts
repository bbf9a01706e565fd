// Proves the hold lifecycle of issue 10 against real Redis and Postgres: the "ended" status-update
// sizes a call's hold to the time it used (never releases it before the charge), finds the call
// and its organisation whatever has been recorded so far, and the meter sweeper gives a live call
// back its hold and its renewal after Redis lost everything.
import { meterSweepDeps, sweepMeters } from '../../workers/meter-sweeper';
import { jobIds } from '../../shared/queues/queues';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { deleteByPrefix } from '../support/redis';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, postWebhook, registerNumber, type TestNumber } from '../support/vapi';

describe('hold lifecycle (metered)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const ended = (id: string, num: TestNumber) => ({
    message: { type: 'status-update', status: 'ended', endedReason: 'customer-ended-call', call: { id, phoneNumberId: num.vapiPhoneNumberId } },
  });
  const entry = async (orgId: string, id: string) => (await ctx.services.redis.hget(ctx.services.keys.holds(orgId), id))?.split('|');

  /** Makes the call look admitted `seconds` ago in both stores (what a long call looks like when it ends). */
  async function backdate(orgId: string, id: string, seconds: number): Promise<void> {
    await holdsRecorded(ctx.pool, [id]);
    const fields = await entry(orgId, id);
    if (!fields) throw new Error('no Redis entry');
    fields[4] = String(Number(fields[4]) - seconds * 1000);
    await ctx.services.redis.hset(ctx.services.keys.holds(orgId), id, fields.join('|'));
    await ctx.pool.query(`update calls set admitted_at = admitted_at - make_interval(secs => $2) where call_id = $1`, [id, seconds]);
  }

  it('does not admit a call right after a long call ended on the long call\'s unbilled money (failure mode 23)', async () => {
    const orgId = await createFundedOrg(ctx.services, 900);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'long-call'))).body.assistantId).toBe(num.assistantId);
    // The long call ran 15 minutes: ceil(900 × 56 ÷ 60) = 840 of the 900 is spent, not yet billed.
    await backdate(orgId, 'long-call', 900);
    await postWebhook(ctx.app(), ended('long-call', num));
    expect(await ctx.services.calls.hot.held(orgId)).toBeGreaterThanOrEqual(840);
    const next = await postWebhook(ctx.app(), assistantRequest(num, 'after-long-call'));
    expect(next.body.error).toMatch(/credit/);
    const { rows } = await ctx.pool.query('select hold_state, hold_amount, ended_at is not null as ended from calls where call_id = $1', ['long-call']);
    expect(rows[0]).toMatchObject({ hold_state: 'held', ended: true });
    expect(Number(rows[0]?.hold_amount)).toBeGreaterThanOrEqual(840);
  });

  it('admits a call right after a short call ended: the short call holds only what it used', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'short-call'))).body.assistantId).toBe(num.assistantId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'blocked-call'))).body.error).toMatch(/credit/);
    await postWebhook(ctx.app(), ended('short-call', num));
    // A second or two of call: a hold of a pence or two until the charge replaces it.
    expect(await ctx.services.calls.hot.held(orgId)).toBeLessThanOrEqual(2);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'next-call'))).body.assistantId).toBe(num.assistantId);
  });

  it('finds a call whose hold record never reached Postgres by its number, sizes its hold and records it for the sweeper', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'unrecorded'))).body.assistantId).toBe(num.assistantId);
    // The batched record failed (or has not been written yet): Postgres knows nothing of the call.
    await holdsRecorded(ctx.pool, ['unrecorded']);
    await ctx.pool.query('delete from calls where call_id = $1', ['unrecorded']);
    // Neither metadata nor a record: only the call id and the number it came in on.
    await postWebhook(ctx.app(), ended('unrecorded', num));
    expect((await entry(orgId, 'unrecorded'))?.[0]).toBe('e');
    expect(await ctx.services.calls.hot.held(orgId)).toBeLessThanOrEqual(2);
    const { rows } = await ctx.pool.query('select org_id, ended_at is not null as ended, hold_state from calls where call_id = $1', ['unrecorded']);
    expect(rows).toEqual([{ org_id: orgId, ended: true, hold_state: 'held' }]);
    // The sweeper finds it once the grace has passed without a report.
    const later = new Date(Date.now() + (ctx.config.callGate.holdGraceSeconds + 1) * 1000);
    const due = await ctx.services.calls.store.callsDueForSweep(later, ctx.config.callGate.holdGraceSeconds, 100, null);
    expect(due.map((c) => c.call_id)).toContain('unrecorded');
  });

  it('gives a live call back its hold and its next renewal after Redis lost all its data', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'survivor'))).body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, ['survivor']);
    const meterId = jobIds.meter('survivor', 2);
    // No worker runs here: the first renewal waits in the due set for the meter pump.
    const dueOf = async () => (await ctx.services.redis.zrange(ctx.services.keys.meterDue(orgId), 0, -1)).filter((m) => m.endsWith('|survivor'));
    expect(await dueOf()).toHaveLength(1);

    await deleteByPrefix(ctx.services.redis, ctx.services.keys.prefix);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(0);
    expect(await dueOf()).toEqual([]);
    expect(await ctx.services.queues.callMeters.getJob(meterId)).toBeUndefined();

    const summary = await sweepMeters(meterSweepDeps(ctx.services));
    expect(summary.metersCreated).toBeGreaterThanOrEqual(1);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112);
    expect(await ctx.services.queues.callMeters.getJob(meterId)).toBeDefined();
    // A second pass finds everything in place and changes nothing.
    expect((await sweepMeters(meterSweepDeps(ctx.services))).metersCreated).toBe(0);
    expect(await ctx.services.calls.hot.held(orgId)).toBe(112);
  });

  it("keeps a call's control URL learned before its record reached Postgres, through a Redis that lost its data", async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const url = 'http://127.0.0.1:9/call/early-url/control';
    // Vapi's in-progress update can come before the gate's batched record of the hold.
    const inProgress = { message: { type: 'status-update', status: 'in-progress', call: { id: 'early-url', phoneNumberId: num.vapiPhoneNumberId, monitor: { controlUrl: url } } } };
    await postWebhook(ctx.app(), inProgress);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'early-url'))).body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, ['early-url']);
    await deleteByPrefix(ctx.services.redis, ctx.services.keys.prefix);
    const meter = await ctx.services.calls.store.meter('early-url');
    expect(meter.outcome === 'found' && meter.control_url).toBe(url);
  });
});
