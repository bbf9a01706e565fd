// Proves an operator freeze end to end with the real workers, Redis and Postgres, and a real HTTP
// server standing in for Vapi's live call control: freezing a wallet with two live calls sends
// each control URL the spoken sentence (endCallAfterSpoken) and then end-call; the frozen wallet
// admits no call (spoken reason) and buys no number (403 wallet_frozen), on the Redis path and
// the Postgres fallback; GET /api/wallet shows frozen and its reason; unfreezing admits again.
import request from 'supertest';
import { FREEZE_HANGUP_AFTER_MS, FROZEN_SENTENCE } from '../../shared/calls/call-meter';
import { REFUSAL_MESSAGES } from '../../shared/calls/call-gate';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { startControlServer, type ControlServer } from '../support/control-server';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { eventually } from '../support/eventually';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

jest.setTimeout(60_000);

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describe('frozen wallets', () => {
  let ctx: TestContext;
  let workers: RunningWorkers;
  let control: ControlServer;
  beforeAll(async () => {
    ctx = await createTestContext({ SWEEP_INTERVAL_MS: '600000' });
    workers = await startWorkers(ctx.services);
    control = await startControlServer();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await workers.close(5000);
    await control.close();
    await ctx.close();
  });

  it('ends both live calls through their control URLs, refuses calls and purchases while frozen, and admits again once unfrozen', async () => {
    const orgId = await createFundedOrg(ctx.services, 100_000);
    const num = await registerNumber(ctx.services, orgId);
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    for (const id of ['fz-a', 'fz-b']) {
      expect((await postWebhook(ctx.app(), assistantRequest(num, id))).body.assistantId).toBe(num.assistantId);
      const inProgress = { message: { type: 'status-update', status: 'in-progress', call: { id, phoneNumberId: num.vapiPhoneNumberId, monitor: { listenUrl: 'wss://x.invalid/l', controlUrl: control.url(id) } } } };
      expect((await postWebhook(ctx.app(), inProgress)).status).toBe(200);
    }

    const frozen = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/freeze`).set(admin).send({ reason: 'suspected toll fraud' });
    expect([frozen.status, frozen.body]).toEqual([200, { orgId, frozen: true, frozenReason: 'suspected toll fraud', callsEnding: 2 }]);

    // At once: the sentence; a few seconds later (the caller hears it): end-call.
    await eventually(async () => (['fz-a', 'fz-b'].every((id) => control.posts.some((p) => p.callId === id && p.body.type === 'end-call')) ? true : undefined), { timeoutMs: FREEZE_HANGUP_AFTER_MS + 15_000 });
    for (const id of ['fz-a', 'fz-b']) {
      const posts = control.posts.filter((p) => p.callId === id);
      expect(posts.map((p) => p.body)).toEqual([{ type: 'say', content: FROZEN_SENTENCE, endCallAfterSpoken: true }, { type: 'end-call' }]);
      expect((posts[1]?.atMs ?? 0) - (posts[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(FREEZE_HANGUP_AFTER_MS - 500);
    }

    // Frozen: no call (Redis path, and the Postgres admission), no number.
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'fz-c'))).body).toEqual({ error: REFUSAL_MESSAGES.wallet_frozen });
    const pg = await ctx.services.calls.store.admit({ orgId, callId: 'fz-pg', ratePerMinute: 56, minBalance: 79, safetyMarginSeconds: 5, holdGraceSeconds: 300, minDurationSeconds: 10, maxDurationSeconds: 43_200, policy: 'metered', holdSeconds: 120 });
    expect(pg).toEqual({ outcome: 'refused', reason: 'wallet_frozen' });
    const buy = await request(ctx.app()).post('/api/managed-telephony/provision').set('Authorization', `Bearer ${token}`).set('Idempotency-Key', 'fz-buy').send({ areaCode: '415' });
    expect([buy.status, buy.body.error]).toEqual([403, 'wallet_frozen']);
    const w = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
    expect(w.body).toMatchObject({ orgId, frozen: true, frozenReason: 'suspected toll fraud', balance: 100_000 });

    // A second freeze keeps the first reason and changes nothing.
    const again = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/freeze`).set(admin).send({ reason: 'other' });
    expect(again.body).toMatchObject({ frozen: true, frozenReason: 'suspected toll fraud' });

    const unfrozen = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/unfreeze`).set(admin).send({});
    expect([unfrozen.status, unfrozen.body]).toEqual([200, { orgId, frozen: false, frozenReason: null }]);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'fz-d'))).body.assistantId).toBe(num.assistantId);
    expect((await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`)).body).toMatchObject({ frozen: false, frozenReason: null });
  });

  it('refuses freeze bodies without a reason and unknown organisations, and needs the operator token', async () => {
    const orgId = await createFundedOrg(ctx.services, 0);
    for (const body of [{}, { reason: '' }, { reason: 'x', extra: 1 }, { reason: 'x'.repeat(501) }]) {
      expect((await request(ctx.app()).post(`/api/admin/orgs/${orgId}/freeze`).set(admin).send(body)).status).toBe(400);
    }
    expect((await request(ctx.app()).post(`/api/admin/orgs/${orgId}/freeze`).send({ reason: 'x' })).status).toBe(401);
    expect((await request(ctx.app()).post('/api/admin/orgs/00000000-0000-4000-8000-000000000000/freeze').set(admin).send({ reason: 'x' })).status).toBe(404);
    expect((await ctx.pool.query('select frozen from wallets where org_id = $1', [orgId])).rows[0].frozen).toBe(false);
  });
});
