// Proves the spend controls of CONTRACT §8 through the real app, real Redis and real Postgres:
// maxConcurrentCalls admits exactly N of many simultaneous calls on both the Redis path and the
// Postgres fallback (Redis cut by a TCP proxy); dailySpendLimit stops calls and purchases at the
// limit with holds counted, ends a live call whose renewal would pass it through its control URL
// (a real HTTP server records what is posted), and admits again on the next UTC day (the gate's
// clock is moved, as the Lua scripts and SQL take `now`); maxCallSeconds caps maxDurationSeconds;
// a limit lowered while calls are live ends the excess at their next renewal; bad limit bodies
// change nothing. Renewal and hang-up steps are run directly (no waiting for their delay).
import request from 'supertest';
import { LIMIT_SENTENCES } from '../../shared/calls/call-meter';
import { REFUSAL_MESSAGES } from '../../shared/calls/call-gate';
import type { CallMeterJob } from '../../shared/queues/queues';
import { waitForRedis } from '../../shared/redis';
import { MS_PER_DAY } from '../../shared/wallet/wallet-controls';
import { createFundedOrg, createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, type TestContext } from '../support/context';
import { startControlServer, type ControlServer } from '../support/control-server';
import { expectLedgerConsistent } from '../support/invariants';
import { dashboardToken } from '../support/jwt';
import { TEST_REDIS_URL } from '../support/redis';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { assistantRequest, postWebhook, registerNumber, type TestNumber } from '../support/vapi';

jest.setTimeout(60_000);

const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
type Body = Record<string, unknown>;
const allowedOf = (rs: Array<{ body: Body }>) => rs.filter((r) => 'assistantId' in r.body);

describe('spend controls', () => {
  let ctx: TestContext;
  let proxy: TcpProxy;
  let control: ControlServer;
  let offsetMs = 0;
  beforeAll(async () => {
    const target = new URL(TEST_REDIS_URL);
    proxy = await createTcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.up();
    ctx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, PHONE_NUMBER_PRICE: '100' }, { clock: () => Date.now() + offsetMs });
    control = await startControlServer();
  });
  afterEach(async () => {
    offsetMs = 0;
    await proxy.up();
    await expectLedgerConsistent(ctx.pool);
  });
  afterAll(async () => {
    await proxy.up();
    await control.close();
    await ctx.close();
    await proxy.down();
  });

  const putLimits = (orgId: string, body: unknown) => request(ctx.app()).put(`/api/admin/orgs/${orgId}/limits`).set(admin).send(body as object);
  const buy = async (orgId: string, key: string) =>
    request(ctx.app())
      .post('/api/managed-telephony/provision')
      .set('Authorization', `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}`)
      .set('Idempotency-Key', key)
      .send({ areaCode: '415' });
  const call = (num: TestNumber, id: string) => postWebhook(ctx.app(), assistantRequest(num, id));
  /** Vapi tells us the control URL on the call's in-progress status-update. */
  const inProgress = (num: TestNumber, id: string) =>
    postWebhook(ctx.app(), { message: { type: 'status-update', status: 'in-progress', call: { id, phoneNumberId: num.vapiPhoneNumberId, monitor: { listenUrl: 'wss://x.invalid/l', controlUrl: control.url(id) } } } });
  /** The meter job of slice 2 (or the hang-up) of a call, from its Redis entry. */
  async function meterJob(orgId: string, callId: string, kind: CallMeterJob['kind'] = 'renew'): Promise<CallMeterJob> {
    const v = await ctx.services.redis.hget(ctx.services.keys.holds(orgId), callId);
    const [, , maxd, expires, admitted, cap] = (v ?? '').split('|').map(Number);
    return { kind, callId, orgId, slice: 2, admittedAtMs: admitted ?? 0, maxDurationSeconds: maxd ?? 0, expiresAtMs: expires ?? 0, cap: cap ?? 0, dueAtMs: Date.now() };
  }
  const postsTo = (callId: string) => control.posts.filter((p) => p.callId === callId).map((p) => p.body);

  describe('maxConcurrentCalls', () => {
    it('admits exactly 2 of 10 simultaneous calls on a rich wallet on the Redis path, with a spoken reason', async () => {
      const orgId = await createFundedOrg(ctx.services, 1_000_000);
      const num = await registerNumber(ctx.services, orgId);
      expect((await putLimits(orgId, { maxConcurrentCalls: 2 })).status).toBe(200);
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => call(num, `cc-r-${i}`)));
      expect(allowedOf(all)).toHaveLength(2);
      for (const r of all) if (!('assistantId' in r.body)) expect(r.body).toEqual({ error: REFUSAL_MESSAGES.concurrency_limit });
    });

    it('admits exactly 2 of 10 simultaneous calls on the Postgres fallback (Redis unreachable)', async () => {
      const orgId = await createFundedOrg(ctx.services, 1_000_000);
      const num = await registerNumber(ctx.services, orgId);
      expect((await putLimits(orgId, { maxConcurrentCalls: 2 })).status).toBe(200);
      await proxy.down();
      const before = (await ctx.services.metrics.gateDecisions.get()).values.filter((v) => v.labels.path === 'database_fallback').reduce((n, v) => n + v.value, 0);
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => call(num, `cc-p-${i}`)));
      const after = (await ctx.services.metrics.gateDecisions.get()).values.filter((v) => v.labels.path === 'database_fallback').reduce((n, v) => n + v.value, 0);
      expect(after - before).toBe(10);
      expect(allowedOf(all)).toHaveLength(2);
      for (const r of all) if (!('assistantId' in r.body)) expect(r.body.error).toBe(REFUSAL_MESSAGES.concurrency_limit);
      await proxy.up();
      await waitForRedis(ctx.services.redis, 5000);
    });

    it('ends, at their next renewal, the calls beyond a limit lowered while they are live (oldest kept)', async () => {
      const orgId = await createFundedOrg(ctx.services, 100_000);
      const num = await registerNumber(ctx.services, orgId);
      for (const id of ['low-1', 'low-2', 'low-3']) {
        expect((await call(num, id)).body.assistantId).toBe(num.assistantId);
        await inProgress(num, id);
      }
      expect((await putLimits(orgId, { maxConcurrentCalls: 1 })).status).toBe(200);
      expect(await ctx.services.calls.meters.step(await meterJob(orgId, 'low-1'))).toMatchObject({ outcome: 'renewed' });
      expect(await ctx.services.calls.meters.step(await meterJob(orgId, 'low-3'))).toMatchObject({ outcome: 'limited', limit: 'maxConcurrentCalls' });
      expect(postsTo('low-3')).toEqual([{ type: 'say', content: LIMIT_SENTENCES.maxConcurrentCalls, endCallAfterSpoken: true }]);
      expect(postsTo('low-1')).toEqual([]);
    });
  });

  describe('dailySpendLimit', () => {
    it('stops calls and purchases at 500 with holds counted, ends a call whose renewal would pass it, and admits again the next UTC day', async () => {
      const orgId = await createFundedOrg(ctx.services, 100_000);
      const num = await registerNumber(ctx.services, orgId);
      expect((await putLimits(orgId, { dailySpendLimit: 500 })).body).toEqual({ orgId, maxConcurrentCalls: null, dailySpendLimit: 500, maxCallSeconds: null, maxNumbersPerDay: null, currency: 'gbp' });

      expect((await buy(orgId, 'day-buy-1')).status).toBe(202); // spent 100
      // 400 left: three slices of 112 (336 held), then 64 < CALL_MIN_BALANCE.
      for (const id of ['day-1', 'day-2', 'day-3']) {
        expect((await call(num, id)).body.assistantId).toBe(num.assistantId);
        await inProgress(num, id);
      }
      const refused = await call(num, 'day-4');
      expect(refused.body).toEqual({ error: REFUSAL_MESSAGES.daily_spend_limit });
      // 100 spent + 336 held + 100 > 500: the purchase is refused, nothing debited.
      const balance = async () => Number((await ctx.pool.query('select balance from wallets where org_id = $1', [orgId])).rows[0].balance);
      const before = await balance();
      const second = await buy(orgId, 'day-buy-2');
      expect([second.status, second.body.error, second.body.limit]).toEqual([403, 'limit_reached', 'dailySpendLimit']);
      expect(await balance()).toBe(before);
      // Replayed, the key's first outcome is given again.
      expect((await buy(orgId, 'day-buy-2')).status).toBe(403);
      // The Postgres fallback refuses the same way (its own atomic step).
      const pg = await ctx.services.calls.store.admit({ orgId, callId: 'day-pg', ratePerMinute: 56, minBalance: 79, safetyMarginSeconds: 5, holdGraceSeconds: 300, minDurationSeconds: 10, maxDurationSeconds: 43_200, policy: 'metered', holdSeconds: 120, nowMs: Date.now() });
      expect(pg).toEqual({ outcome: 'refused', reason: 'dailySpendLimit' });

      // A renewal of 112 would take 436 to 548: the call is told why and then hung up.
      expect(await ctx.services.calls.meters.step(await meterJob(orgId, 'day-1'))).toMatchObject({ outcome: 'limited', limit: 'dailySpendLimit' });
      expect(await ctx.services.calls.meters.step(await meterJob(orgId, 'day-1', 'hangup'))).toBe('ended');
      expect(postsTo('day-1')).toEqual([{ type: 'say', content: LIMIT_SENTENCES.dailySpendLimit, endCallAfterSpoken: true }, { type: 'end-call' }]);
      const ended = (await ctx.services.metrics.spendControls.get()).values.find((v) => v.labels.control === 'dailySpendLimit' && v.labels.surface === 'renewal');
      expect(ended?.value).toBe(1);

      // The next UTC day: today's posted spend no longer counts (holds still do, while they live).
      offsetMs = Math.ceil(Date.now() / MS_PER_DAY) * MS_PER_DAY + 1000 - Date.now();
      // Postgres first: its 336 held leave 164 of the new day's 500. (Asked after the Redis call,
      // it would also count that call's 112 once its batched record landed, 52 left: a race.)
      const pgNext = await ctx.services.calls.store.admit({ orgId, callId: 'day-pg-next', ratePerMinute: 56, minBalance: 79, safetyMarginSeconds: 5, holdGraceSeconds: 300, minDurationSeconds: 10, maxDurationSeconds: 43_200, policy: 'metered', holdSeconds: 120, nowMs: Date.now() + offsetMs });
      expect(pgNext).toMatchObject({ outcome: 'held' });
      expect((await call(num, 'day-next')).body.assistantId).toBe(num.assistantId);
    });

    it('caps maxDurationSeconds at maxCallSeconds', async () => {
      const orgId = await createFundedOrg(ctx.services, 100_000);
      const num = await registerNumber(ctx.services, orgId);
      expect((await putLimits(orgId, { maxCallSeconds: 60 })).status).toBe(200);
      const r = await call(num, 'short-1');
      expect(r.body.assistantOverrides).toEqual({ maxDurationSeconds: 60, metadata: { orgId } });
    });

    it('accepts exactly 3 of 10 simultaneous purchases of 100 under a dailySpendLimit of 300 (the wallet row lock)', async () => {
      const orgId = await createFundedOrg(ctx.services, 100_000);
      expect((await putLimits(orgId, { dailySpendLimit: 300 })).status).toBe(200);
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => buy(orgId, `par-${i}`)));
      expect(all.filter((r) => r.status === 202)).toHaveLength(3);
      expect(all.filter((r) => r.status === 403 && r.body.limit === 'dailySpendLimit')).toHaveLength(7);
      const spent = await ctx.pool.query("select -sum(amount)::int s from ledger_entries where org_id = $1 and kind = 'phone_number'", [orgId]);
      expect(spent.rows[0].s).toBe(300);
    });

    it('never lets an older wallet snapshot overwrite newer limits in the cache (one version guards both)', async () => {
      const orgId = await createFundedOrg(ctx.services, 100_000);
      const num = await registerNumber(ctx.services, orgId);
      const old = await ctx.services.store.getWallet(orgId);
      expect((await putLimits(orgId, { maxConcurrentCalls: 0 })).status).toBe(200);
      // A slow writer finishing late with the wallet from before the limit was set.
      expect(await ctx.services.cache.put(orgId, old!)).toBe(false);
      expect(await ctx.services.redis.hget(ctx.services.keys.wallet(orgId), 'lim_cc')).toBe('0');
      expect((await call(num, 'guard-1')).body).toEqual({ error: REFUSAL_MESSAGES.concurrency_limit });
    });

    it('refuses a purchase past maxNumbersPerDay with 403 limit_reached', async () => {
      const orgId = await createFundedOrg(ctx.services, 100_000);
      expect((await putLimits(orgId, { maxNumbersPerDay: 1 })).status).toBe(200);
      expect((await buy(orgId, 'npd-1')).status).toBe(202);
      const r = await buy(orgId, 'npd-2');
      expect([r.status, r.body.error, r.body.limit]).toEqual([403, 'limit_reached', 'maxNumbersPerDay']);
    });
  });

  describe('limits API', () => {
    it('answers GET with the limits, null = none, and a PUT replaces all four', async () => {
      const orgId = await createFundedOrg(ctx.services, 0);
      const get = () => request(ctx.app()).get(`/api/admin/orgs/${orgId}/limits`).set(admin);
      expect((await get()).body).toEqual({ orgId, maxConcurrentCalls: null, dailySpendLimit: null, maxCallSeconds: null, maxNumbersPerDay: null, currency: 'gbp' });
      await putLimits(orgId, { maxConcurrentCalls: 3, dailySpendLimit: 900, maxCallSeconds: 600, maxNumbersPerDay: 2 });
      expect((await get()).body).toMatchObject({ maxConcurrentCalls: 3, dailySpendLimit: 900, maxCallSeconds: 600, maxNumbersPerDay: 2 });
      await putLimits(orgId, { dailySpendLimit: 10 });
      expect((await get()).body).toMatchObject({ maxConcurrentCalls: null, dailySpendLimit: 10, maxCallSeconds: null, maxNumbersPerDay: null });
    });

    it('refuses bad limit bodies with 400 and changes nothing (negative, fractional, absurd, unknown fields, wrong types)', async () => {
      const orgId = await createFundedOrg(ctx.services, 0);
      await putLimits(orgId, { maxConcurrentCalls: 5, dailySpendLimit: 500 });
      const version = async () => Number((await ctx.pool.query('select version from wallets where org_id = $1', [orgId])).rows[0].version);
      const v0 = await version();
      const bad: unknown[] = [
        { maxConcurrentCalls: -1 },
        { dailySpendLimit: 10.5 },
        { dailySpendLimit: 1e12 },
        { maxCallSeconds: 5 },
        { maxCallSeconds: 100_000 },
        { maxNumbersPerDay: 1_000_000 },
        { maxConcurrentCalls: '2' },
        { maxConcurrentCalls: 2, burst: 3 },
        [2],
      ];
      for (const body of bad) {
        const r = await putLimits(orgId, body);
        expect([r.status, r.body.error]).toEqual([400, 'invalid_request']);
      }
      const malformed = await request(ctx.app()).put(`/api/admin/orgs/${orgId}/limits`).set(admin).set('Content-Type', 'application/json').send('{"maxConcurrentCalls":');
      expect(malformed.status).toBe(400);
      expect(await version()).toBe(v0);
      expect((await request(ctx.app()).get(`/api/admin/orgs/${orgId}/limits`).set(admin)).body).toMatchObject({ maxConcurrentCalls: 5, dailySpendLimit: 500 });
      expect((await request(ctx.app()).put(`/api/admin/orgs/${orgId}/limits`).send({})).status).toBe(401);
      expect((await putLimits('00000000-0000-4000-8000-000000000000', {})).status).toBe(404);
      expect((await putLimits('not-a-uuid', {})).status).toBe(404);
    });
  });
});
