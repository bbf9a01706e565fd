// Proves the explicit fail mode when neither store can be read (failure mode 16): a test-owned
// redis-server is stopped and Postgres is cut behind a TCP proxy; every message still gets
// HTTP 200; CALL_GATE_FAIL_MODE=closed refuses with a spoken sentence, =open admits numbers it
// resolved before with the short fail-open maxDuration; both are counted on path fail_mode.
import type { RequestListener } from 'node:http';
import { createHttpHandler } from '../../api/webhook-fast-lane';
import { loadConfig } from '../../shared/config';
import { createPool } from '../../shared/db/pool';
import { pgRpc } from '../../shared/db/rpc';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices, type Services } from '../../shared/process/services';
import { createRedis, waitForRedis } from '../../shared/redis';
import { testEnv } from '../support/context';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { expectLedgerConsistent } from '../support/invariants';
import { uniquePrefix } from '../support/redis';
import { createRedisServer, type TestRedisServer } from '../support/redis-server';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { assistantRequest, endOfCallReport, gateCount, postWebhook, registerNumber, statusUpdate, type TestNumber } from '../support/vapi';

describe('fail mode with both stores down', () => {
  let redis: TestRedisServer;
  let proxy: TcpProxy;
  let dbName: string;
  const worlds: Array<{ services: Services; app: RequestListener }> = [];
  let num: TestNumber;

  function world(failMode: 'closed' | 'open') {
    const url = new URL(databaseUrl(dbName));
    url.port = String(proxy.port);
    const config = loadConfig(testEnv(url.toString(), uniquePrefix('fail'), { REDIS_URL: redis.url, CALL_GATE_FAIL_MODE: failMode, CALL_GATE_DATABASE_TIMEOUT_MS: '1000' }));
    const pool = createPool(config.data.kind === 'postgres' ? config.data.databaseUrl : '', { max: 4, connectionTimeoutMs: 1000 });
    // The outage drops idle connections; without a listener node-postgres would crash the process.
    pool.on('error', () => undefined);
    const services = createServices(config, { log: createLogger(config.logLevel), metrics: createMetrics(), rpc: pgRpc(pool), redis: createRedis(config.redis, 'fail-fast', 'test') });
    const w = { services, app: createHttpHandler(services) };
    worlds.push(w);
    return w;
  }

  let closed: { services: Services; app: RequestListener };
  let open: { services: Services; app: RequestListener };

  beforeAll(async () => {
    redis = await createRedisServer();
    await redis.start();
    proxy = await createTcpProxy('127.0.0.1', Number(new URL(databaseUrl('x')).port || 5432));
    dbName = await createTestDatabase();
    closed = world('closed');
    open = world('open');
    const org = await closed.services.store.createOrg({ name: 'Fail', currency: 'gbp' });
    if (org.outcome !== 'created') throw new Error('fixture');
    await closed.services.wallet.credit({ orgId: org.org_id, amount: 100_000, idempotencyKey: 'fixture', fingerprint: 'f'.repeat(64), reason: 'fixture' });
    num = await registerNumber(closed.services, org.org_id);
    // Both processes have answered for this number while the stores were up.
    for (const w of [closed, open]) expect((await postWebhook(w.app, assistantRequest(num))).body.assistantId).toBe(num.assistantId);
    await redis.stop();
    await proxy.down();
  });
  afterAll(async () => {
    await proxy.up();
    await redis.start();
    for (const w of worlds) await waitForRedis(w.services.redis, 5000);
    const check = createPool(databaseUrl(dbName), { max: 1 });
    await expectLedgerConsistent(check);
    await check.end();
    for (const w of worlds) await w.services.close();
    await dropTestDatabase(dbName);
    await proxy.down();
    await redis.dispose();
  });

  it('refuses with a spoken sentence and HTTP 200 when the fail mode is closed', async () => {
    const res = await postWebhook(closed.app, assistantRequest(num, 'fail-closed'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ error: expect.stringMatching(/cannot take your call right now/) });
    expect(await gateCount(closed.services, 'refused_unavailable', 'fail_mode')).toBe(1);
    const toFailMode = (await closed.services.metrics.fallbacks.get()).values.find((v) => v.labels.to === 'fail_mode');
    expect(toFailMode?.value).toBe(1);
  });

  it('admits a known number with the short fail-open maxDuration when the fail mode is open', async () => {
    const res = await postWebhook(open.app, assistantRequest(num, 'fail-open'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ assistantId: num.assistantId, assistantOverrides: { maxDurationSeconds: 60, metadata: { orgId: num.orgId } } });
    expect(await gateCount(open.services, 'allowed', 'fail_mode')).toBe(1);
  });

  it('still refuses a number it cannot resolve when the fail mode is open', async () => {
    const res = await postWebhook(open.app, assistantRequest({ vapiPhoneNumberId: 'pn-never-seen', e164: '+14155550999' }, 'fail-open-unknown'));
    expect(res.status).toBe(200);
    expect(res.body.error).toMatch(/cannot take your call/);
  });

  it('answers status-updates and end-of-call reports with 200 while both stores are down', async () => {
    for (const body of [statusUpdate('fail-open', 'ended', num.orgId), endOfCallReport('fail-open', { orgId: num.orgId, seconds: 30, num })]) {
      const res = await postWebhook(closed.app, body);
      expect([res.status, res.body]).toEqual([200, { received: true }]);
    }
  });
});
