// Proves the batched recording of Redis-path holds in Postgres against the real database: holds
// added together are written in multi-row statements of at most the batch size and every one
// lands in `calls`; close() writes what is still waiting before it resolves (shutdown); a batch
// that fails is counted per hold as wallet_failures_total{operation="call_hold_record"} without
// rejecting its callers; and a hold added after close() is counted as failed, not lost silently.
import { randomUUID } from 'node:crypto';
import type { CallStore, HoldRecord } from '../../shared/calls/call-store';
import { createHoldRecorder } from '../../shared/calls/hold-recorder';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';

describe('hold recorder (batched Postgres records of Redis holds)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  // The real store, with its batch calls counted (no behaviour replaced).
  function countingStore(): { store: CallStore; batches: number[] } {
    const real = ctx.services.calls.store;
    const batches: number[] = [];
    const store: CallStore = { ...real, recordHolds: async (holds: HoldRecord[]) => {
      batches.push(holds.length);
      return real.recordHolds(holds);
    } };
    return { store, batches };
  }
  const hold = (orgId: string, callId = `call-${randomUUID()}`): HoldRecord => ({
    call_id: callId,
    org_id: orgId,
    amount: 995,
    max_duration_seconds: 1066,
    expires_at_ms: Date.now() + 1_366_000,
    admitted_at_ms: Date.now(),
    cap: 995,
    held_seconds: 1066,
    slices: 1,
    policy: 'full',
  });
  const rowsFor = async (ids: string[]) => Number((await ctx.pool.query<{ n: string }>("select count(*) n from calls where call_id = any($1) and admitted_path = 'cache' and hold_state = 'held'", [ids])).rows[0]?.n);
  const failures = async () => (await ctx.services.metrics.walletFailures.get()).values.find((v) => v.labels.operation === 'call_hold_record')?.value ?? 0;

  it('writes 250 concurrent holds in two statements (200 + 50) and records every one', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const { store, batches } = countingStore();
    const recorder = createHoldRecorder({ store, metrics: ctx.services.metrics, log: ctx.services.log, databaseTimeoutMs: 2000, flushMs: 5, batchMax: 200 });
    const holds = Array.from({ length: 250 }, () => hold(orgId));
    await Promise.all(holds.map((h) => recorder.add(h)));
    expect(batches).toEqual([200, 50]);
    expect(await rowsFor(holds.map((h) => h.call_id))).toBe(250);
    await recorder.close();
  });

  it('writes the holds still waiting when closed, before close() resolves', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const recorder = createHoldRecorder({ store: ctx.services.calls.store, metrics: ctx.services.metrics, log: ctx.services.log, databaseTimeoutMs: 2000, flushMs: 60_000 });
    const holds = [hold(orgId), hold(orgId), hold(orgId)];
    const added = holds.map((h) => recorder.add(h));
    expect(await rowsFor(holds.map((h) => h.call_id))).toBe(0);
    await recorder.close();
    expect(await rowsFor(holds.map((h) => h.call_id))).toBe(3);
    await Promise.all(added);
  });

  it('records the rest of a batch when one hold in it is malformed or names no organisation (failure mode 25)', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const recorder = createHoldRecorder({ store: ctx.services.calls.store, metrics: ctx.services.metrics, log: ctx.services.log, databaseTimeoutMs: 2000, flushMs: 50 });
    const rejectedBefore = (await ctx.services.metrics.callHoldEvents.get()).values.find((v) => v.labels.event === 'record_rejected')?.value ?? 0;
    // A call id over 200 characters breaks the calls CHECK; an unknown organisation, its foreign key.
    const good = [hold(orgId), hold(orgId), hold(orgId)];
    const bad = [hold(orgId, 'x'.repeat(201)), hold('00000000-0000-4000-8000-00000000dead')];
    await Promise.all([...good, ...bad].map((h) => recorder.add(h)));
    expect(await rowsFor(good.map((h) => h.call_id))).toBe(3);
    const rejectedAfter = (await ctx.services.metrics.callHoldEvents.get()).values.find((v) => v.labels.event === 'record_rejected')?.value ?? 0;
    expect(rejectedAfter - rejectedBefore).toBe(2);
    await recorder.close();
  });

  it('counts every hold of a batch Postgres could not take at all, and still resolves its callers', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const real = ctx.services.calls.store;
    // A database that is gone: the real store's call against a closed pool of its own.
    const { createPool } = await import('../../shared/db/pool');
    const { pgRpc } = await import('../../shared/db/rpc');
    const { createCallStore } = await import('../../shared/calls/call-store');
    const pool = createPool('postgres://postgres@127.0.0.1:9/none');
    const gone = { ...real, recordHolds: createCallStore(pgRpc(pool)).recordHolds };
    const recorder = createHoldRecorder({ store: gone, metrics: ctx.services.metrics, log: ctx.services.log, databaseTimeoutMs: 2000, flushMs: 1 });
    const before = await failures();
    await Promise.all([hold(orgId), hold(orgId)].map((h) => recorder.add(h)));
    expect((await failures()) - before).toBe(2);
    await recorder.close();
    await pool.end();
  });

  it('counts a hold added after close() as failed', async () => {
    const orgId = await createFundedOrg(ctx.services, 10_000);
    const recorder = createHoldRecorder({ store: ctx.services.calls.store, metrics: ctx.services.metrics, log: ctx.services.log, databaseTimeoutMs: 2000 });
    await recorder.close();
    const before = await failures();
    const late = hold(orgId);
    await recorder.add(late);
    expect((await failures()) - before).toBe(1);
    expect(await rowsFor([late.call_id])).toBe(0);
  });
});
