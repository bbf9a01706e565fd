// Proves the metered policy end to end with the real workers, real Redis and Postgres, and a
// real HTTP server standing in for Vapi's live call control: two calls on a balance of 100 with
// 20-second slices of 19 are renewed while the money lasts; when a renewal cannot be covered the
// control URL receives the spoken sentence and then end-call; billed at their real durations the
// wallet ends no lower than one slice per call below zero, and balance == Σ entries.
import { RUN_OUT_SENTENCE } from '../../shared/calls/call-meter';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { startControlServer, type ControlServer } from '../support/control-server';
import { expectLedgerConsistent } from '../support/invariants';
import { eventually } from '../support/eventually';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

jest.setTimeout(150_000);

describe('metered calls running out of money', () => {
  let ctx: TestContext;
  let workers: RunningWorkers;
  let control: ControlServer;
  beforeAll(async () => {
    ctx = await createTestContext({ CALL_HOLD_SECONDS: '20', CALL_MIN_BALANCE: '19', SWEEP_INTERVAL_MS: '600000' });
    workers = await startWorkers(ctx.services);
    control = await startControlServer();
  });
  afterAll(async () => {
    await workers.close(5000);
    await control.close();
    await ctx.close();
  });

  const renewals = async (outcome: string) =>
    (await ctx.services.metrics.callRenewals.get()).values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);

  it('renews two calls on 100 slice by slice, then speaks and hangs up each when its renewal cannot be covered; billed at real durations within one slice each of zero', async () => {
    const orgId = await createFundedOrg(ctx.services, 100);
    const num = await registerNumber(ctx.services, orgId);
    const calls = ['meter-a', 'meter-b'];
    const admittedAt = new Map<string, number>();
    for (const id of calls) {
      admittedAt.set(id, Date.now());
      const res = await postWebhook(ctx.app(), assistantRequest(num, id));
      expect(res.body.assistantId).toBe(num.assistantId);
      // Vapi tells us the control URL on the call's in-progress status-update.
      const inProgress = { message: { type: 'status-update', status: 'in-progress', call: { id, phoneNumberId: num.vapiPhoneNumberId, monitor: { listenUrl: 'wss://x.invalid/listen', controlUrl: control.url(id) } } } };
      expect((await postWebhook(ctx.app(), inProgress)).status).toBe(200);
    }
    // Two slices of 19 at admission: 62 available.
    expect(await ctx.services.calls.hot.held(orgId)).toBe(38);

    // Each call is hung up once its money is gone; as Vapi would, the test then reports its end.
    const ended = new Set<string>();
    let maxHeld = 0;
    await eventually(async () => {
      maxHeld = Math.max(maxHeld, await ctx.services.calls.hot.held(orgId));
      for (const id of calls) {
        if (ended.has(id) || !control.posts.some((p) => p.callId === id && p.body.type === 'end-call')) continue;
        ended.add(id);
        const startedAt = new Date(admittedAt.get(id) ?? 0).toISOString();
        const endedAt = new Date().toISOString();
        await postWebhook(ctx.app(), { message: { type: 'status-update', status: 'ended', endedReason: 'assistant-ended-call', call: { id, phoneNumberId: num.vapiPhoneNumberId } } });
        await postWebhook(ctx.app(), { message: { type: 'end-of-call-report', startedAt, endedAt, endedReason: 'assistant-ended-call', call: { id, phoneNumberId: num.vapiPhoneNumberId } } });
      }
      return ended.size === calls.length ? true : undefined;
    }, { timeoutMs: 120_000 });

    for (const id of calls) {
      const posts = control.posts.filter((p) => p.callId === id).map((p) => p.body);
      expect(posts).toEqual([{ type: 'say', content: RUN_OUT_SENTENCE, endCallAfterSpoken: true }, { type: 'end-call' }]);
    }
    // 62 covered three more slices of 19 (one call renewed twice, the other once), then 5 was left.
    expect(await renewals('renewed')).toBe(3);
    expect(await renewals('exhausted')).toBe(2);
    expect(maxHeld).toBeGreaterThanOrEqual(38 + 3 * 19 - 19); // the holds grew while the calls lasted

    // Billed once each from the reports; no hold left standing.
    await eventually(async () => {
      const r = await ctx.pool.query("select count(*)::int n from ledger_entries where org_id = $1 and kind = 'call'", [orgId]);
      return r.rows[0]?.n === 2 ? true : undefined;
    }, { timeoutMs: 20_000 });
    await eventually(async () => ((await ctx.services.calls.hot.held(orgId)) === 0 ? true : undefined));
    const { rows } = await ctx.pool.query<{ balance: number }>('select balance from wallets where org_id = $1', [orgId]);
    expect(rows[0]?.balance).toBeGreaterThanOrEqual(-2 * 19);
    await expectLedgerConsistent(ctx.pool);
  });
});
