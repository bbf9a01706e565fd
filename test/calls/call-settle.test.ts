// Proves how one call is settled (CONTRACT §4.2 "Ending and settling"), through the real webhook,
// the real SQL and billCall as the worker and the sweeper run it:
// - the charge replaces the hold in one transaction: a database that goes away right after the
//   charge cannot leave a charged call whose hold still counts, or an unbilled report (failure
//   mode 23);
// - an implausible report (swapped, missing or absurd figures) is billed by our own record of the
//   call, from its admission to its "ended" status-update or else to the report's arrival, capped
//   by its maxDurationSeconds + CALL_HOLD_GRACE_SECONDS, and counted (failure mode 26).
import { billCall } from '../../shared/calls/call-billing';
import { createCallStore } from '../../shared/calls/call-store';
import { DataUnavailableError, type Rpc } from '../../shared/db/rpc';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { holdsRecorded } from '../support/holds';
import { assistantRequest, endOfCallReport, postWebhook, registerNumber, type TestNumber } from '../support/vapi';

const GRACE = 300;
const RATE = 56;

describe('settling a call', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ CALL_HOLD_GRACE_SECONDS: String(GRACE), CALL_RATE_PER_MINUTE: String(RATE) });
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  const callEntries = async (orgId: string) =>
    (await ctx.pool.query("select amount from ledger_entries where org_id = $1 and kind = 'call' order by id", [orgId])).rows.map((r) => Number(r.amount));

  /** Admits the call through the gate and waits for its durable calls row; returns its granted maxDurationSeconds. */
  async function admit(num: TestNumber, callId: string): Promise<number> {
    const gate = await postWebhook(ctx.app(), assistantRequest(num, callId));
    expect(gate.body.assistantId).toBe(num.assistantId);
    await holdsRecorded(ctx.pool, [callId]);
    return gate.body.assistantOverrides.maxDurationSeconds as number;
  }

  /** Our own record of the call: when it was admitted and when its status-update "ended" came. */
  async function record(callId: string, admittedAt: Date, endedAt: Date | null): Promise<void> {
    await ctx.pool.query('update calls set admitted_at = $2, ended_at = $3 where call_id = $1', [callId, admittedAt.toISOString(), endedAt?.toISOString() ?? null]);
  }

  /** Posts an end-of-call report whose message fields are replaced by `fields` (undefined deletes one). */
  async function report(callId: string, orgId: string, num: TestNumber, fields: Record<string, unknown>): Promise<void> {
    const body = endOfCallReport(callId, { orgId, seconds: 0, num }) as { message: Record<string, unknown> };
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) delete body.message[k];
      else body.message[k] = v;
    }
    const res = await postWebhook(ctx.app(), body);
    expect([res.status, res.body]).toEqual([200, { received: true }]);
  }

  /** billing_gates_call_reports_implausible_total{reason}, read by name as a scrape would. */
  const implausibleCount = async (reason: string) => {
    const metric = ctx.services.metrics.registry.getSingleMetric('billing_gates_call_reports_implausible_total');
    if (metric === undefined) return 0;
    return (await metric.get()).values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
  };

  it('posts the charge and ends the hold in one transaction: a database lost right after the charge leaves no charged call still holding', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(num, 'settle-atomic');
    await report('settle-atomic', orgId, num, { endedAt: '2026-11-23T12:01:00.000Z', durationSeconds: 60 });
    // The connection dies as soon as the call's charge exists: every later database call fails.
    const charged = async () => (await ctx.pool.query("select 1 from ledger_entries where idempotency_key = 'call:settle-atomic'")).rowCount === 1;
    const rpc = ctx.services.rpc;
    const cut: Rpc = {
      kind: rpc.kind,
      ping: () => rpc.ping(),
      close: async () => undefined,
      async call(fn, args) {
        if (await charged()) throw new DataUnavailableError(`${fn} failed: connection lost`);
        return rpc.call(fn, args);
      },
    };
    const deps = { ...ctx.services.calls.billing, store: createCallStore(cut) };
    await billCall(deps, 'settle-atomic', 'report').catch(() => undefined);

    const state = await ctx.pool.query(
      `select (select count(*)::int from ledger_entries where idempotency_key = 'call:settle-atomic') as entries,
              (select billed_at is not null from call_reports where call_id = 'settle-atomic') as billed,
              c.hold_state, c.settled_at is not null as settled, c.charge_entry_id is not null as has_charge
         from calls c where c.call_id = 'settle-atomic'`,
    );
    expect(state.rows).toEqual([{ entries: 1, billed: true, hold_state: 'released', settled: true, has_charge: true }]);
    // And the Postgres view of the wallet counts the charge and no hold.
    expect(await ctx.services.calls.store.holdsTotal(orgId)).toBe(0);
    expect(await callEntries(orgId)).toEqual([-56]);
  });

  it('bills a call with swapped timestamps by its own record, admission to its ended status-update (failure mode 26)', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(num, 'settle-swapped');
    const admitted = new Date(Date.now() - 100_000);
    await record('settle-swapped', admitted, new Date(admitted.getTime() + 90_000));
    const before = await implausibleCount('negative');
    // Vapi's figures say the call ended before it started, and lasted zero seconds.
    await report('settle-swapped', orgId, num, { startedAt: '2026-11-23T12:01:30.000Z', endedAt: '2026-11-23T12:00:00.000Z', durationSeconds: 0 });
    const r = await billCall(ctx.services.calls.billing, 'settle-swapped', 'report');
    // 90 s of our own record: ceil(90 × 56 ÷ 60) = 84, not zero.
    expect(r).toMatchObject({ outcome: 'charged', amount: 84, seconds: 90 });
    expect(await callEntries(orgId)).toEqual([-84]);
    expect(await implausibleCount('negative')).toBe(before + 1);
  });

  it('bills a report starting in the year 2000 by its own record, never millions (failure mode 26)', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(num, 'settle-y2k');
    const admitted = new Date(Date.now() - 200_000);
    await record('settle-y2k', admitted, new Date(admitted.getTime() + 125_000));
    const before = await implausibleCount('beyond_bound');
    await report('settle-y2k', orgId, num, { startedAt: '2000-01-01T00:00:00.000Z', endedAt: new Date().toISOString() });
    const r = await billCall(ctx.services.calls.billing, 'settle-y2k', 'report');
    // 125 s: ceil(125 × 56 ÷ 60) = 117.
    expect(r).toMatchObject({ outcome: 'charged', amount: 117 });
    expect(await callEntries(orgId)).toEqual([-117]);
    expect(await implausibleCount('beyond_bound')).toBe(before + 1);
  });

  it('bills a report without any figure from admission to the report arrival when no ended status-update came', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(num, 'settle-missing');
    await record('settle-missing', new Date(Date.now() - 30_000), null);
    const before = await implausibleCount('missing');
    await report('settle-missing', orgId, num, { startedAt: undefined, endedAt: undefined, durationSeconds: undefined });
    const r = await billCall(ctx.services.calls.billing, 'settle-missing', 'report');
    // About 30 s of call (the report came a moment after): ceil(30 × 56 ÷ 60) = 28, or 29 a second later.
    if (r.outcome !== 'charged') throw new Error(`not charged: ${r.outcome}`);
    expect(r.amount).toBeGreaterThanOrEqual(28);
    expect(r.amount).toBeLessThanOrEqual(31);
    expect(await implausibleCount('missing')).toBe(before + 1);
  });

  it('caps the fallback at maxDurationSeconds + CALL_HOLD_GRACE_SECONDS', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const maxDuration = await admit(num, 'settle-capped');
    await record('settle-capped', new Date(Date.now() - 5 * 86_400_000), null);
    await report('settle-capped', orgId, num, { startedAt: '2026-11-23T12:00:00.000Z', endedAt: '2026-11-30T12:00:00.000Z' });
    const r = await billCall(ctx.services.calls.billing, 'settle-capped', 'report');
    const cap = Math.ceil(((maxDuration + GRACE) * RATE) / 60);
    expect(r).toMatchObject({ outcome: 'charged', amount: cap, seconds: maxDuration + GRACE });
  });

  it('bills a plausible report as given, even past the hold, up to the bound', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const maxDuration = await admit(num, 'settle-plausible');
    await record('settle-plausible', new Date(Date.now() - 60_000), new Date(Date.now() - 50_000));
    // maxDuration + grace exactly is still plausible.
    const seconds = maxDuration + GRACE;
    await report('settle-plausible', orgId, num, { endedAt: new Date(Date.parse('2026-11-23T12:00:00.000Z') + seconds * 1000).toISOString() });
    const r = await billCall(ctx.services.calls.billing, 'settle-plausible', 'report');
    expect(r).toMatchObject({ outcome: 'charged', amount: Math.ceil((seconds * RATE) / 60), seconds });
  });

  it('bills a call that never passed the gate as reported within 43200 s + grace, and zero beyond (no record of ours to bill by)', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    const start = Date.parse('2026-11-23T12:00:00.000Z');
    await report('settle-ungated-long', orgId, num, { endedAt: new Date(start + (43_200 + GRACE) * 1000).toISOString() });
    await report('settle-ungated-absurd', orgId, num, { startedAt: '2000-01-01T00:00:00.000Z' });
    expect(await billCall(ctx.services.calls.billing, 'settle-ungated-long', 'report')).toMatchObject({ outcome: 'charged', amount: Math.ceil(((43_200 + GRACE) * RATE) / 60) });
    expect(await billCall(ctx.services.calls.billing, 'settle-ungated-absurd', 'report')).toMatchObject({ outcome: 'charged', amount: 0 });
    expect(await callEntries(orgId)).toEqual([-40_600, 0]);
  });

  it('settles a replay once: billing the same call again returns already_billed and posts nothing', async () => {
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    await admit(num, 'settle-replay');
    await report('settle-replay', orgId, num, { endedAt: '2026-11-23T12:01:00.000Z' });
    const results = await Promise.all(Array.from({ length: 5 }, () => billCall(ctx.services.calls.billing, 'settle-replay', 'report')));
    expect(results.filter((r) => r.outcome === 'charged')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'already_billed')).toHaveLength(4);
    expect(await callEntries(orgId)).toEqual([-56]);
  });
});
