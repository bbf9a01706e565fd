// Proves the failed-authentication limiter (api/middleware/rate-limit.ts) against real Redis:
// a flood of unauthenticated webhook calls, or of guessed operator tokens, turns into 429 with the
// JSON error body once the per-address limit is used up; a burst of 500 authenticated webhook
// calls from the same address right after the flood is never throttled, nor is an operator with
// the right token; two API processes (two apps on one Redis prefix) share one count. On Redis
// Cluster the same counts hold from a cluster with no script loaded (the store loads its scripts
// on every master).
import { startServer, type RunningServer } from '../../api/server';
import { createHttpHandler } from '../../api/webhook-fast-lane';
import { createServices } from '../../shared/process/services';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createRedis, masterNodes, waitForRedis } from '../../shared/redis';
import { createTestContext, TEST_ADMIN_TOKEN, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { ON_CLUSTER, TEST_REDIS } from '../support/redis';

const LIMIT = 20;
const FLOOD = 60;
const BURST = 500;

async function post(url: string, headers: Record<string, string>, body: string) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('throttling failed authentication', () => {
  let ctx: TestContext;
  let server: RunningServer;
  let url: string;

  beforeAll(async () => {
    if (ON_CLUSTER) {
      // The limiter's scripts are loaded when its store is made; a script left on every master by
      // an earlier run would hide a load that reached one master only (SCRIPT LOAD names no key,
      // so a cluster sends it to any node): start from none. (Only on the test cluster: on the
      // shared single Redis a flush proves nothing and would slow others' scripts for a moment.)
      const redis = createRedis(TEST_REDIS, 'fail-fast', 'script-flush');
      await waitForRedis(redis, 5000);
      await Promise.all(masterNodes(redis).map((node) => node.call('SCRIPT', 'FLUSH')));
      redis.disconnect();
    }
    ctx = await createTestContext({ AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
    server = await startServer(ctx.app(), 0, '127.0.0.1');
    url = `http://127.0.0.1:${server.port}`;
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await server.close(1000);
    await ctx.close();
  });

  const message = JSON.stringify({ message: { type: 'conversation-update', messages: [] } });

  it('answers a flood of unauthenticated webhook calls with 429 after the limit, then still lets Vapi’s burst through', async () => {
    const flood = await Promise.all(Array.from({ length: FLOOD }, (_, i) => post(`${url}/api/vapi/webhook`, i % 2 ? {} : { 'x-vapi-secret': `guess-${i}-000000` }, message)));
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(FLOOD - LIMIT);
    const throttled = flood.find((r) => r.status === 429)!;
    expect(throttled.body).toEqual({ error: 'rate_limited', message: expect.any(String) });
    expect(throttled.headers.get('ratelimit-policy') ?? throttled.headers.get('ratelimit')).toBeTruthy();

    // Still refused while the window lasts...
    expect((await post(`${url}/api/vapi/webhook`, {}, message)).status).toBe(429);
    // ...but an authenticated burst from the very same address is never throttled.
    const burst = await Promise.all(
      Array.from({ length: BURST }, (_, i) => post(`${url}/api/vapi/webhook`, i % 2 ? { 'x-vapi-secret': TEST_VAPI_SECRET } : { Authorization: `Bearer ${TEST_VAPI_SECRET}` }, message)),
    );
    expect(burst.filter((r) => r.status !== 200).map((r) => r.status)).toEqual([]);
  });

  it('throttles guessed operator tokens on /api/admin, /metrics and Bull Board, but never the right one', async () => {
    const guesses = await Promise.all(Array.from({ length: LIMIT + 10 }, (_, i) => post(`${url}/api/admin/orgs`, { Authorization: `Bearer guess-${i}` }, JSON.stringify({ name: 'x' }))));
    expect(guesses.filter((r) => r.status === 401)).toHaveLength(LIMIT);
    expect(guesses.filter((r) => r.status === 429)).toHaveLength(10);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(429);
    const ok = await post(`${url}/api/admin/orgs`, { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, JSON.stringify({ name: 'Operator Org' }));
    expect(ok.status).toBe(201);
    expect((await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).status).toBe(200);
    // Bull Board shares the operators' count, and its basic-auth login is never throttled.
    const basic = (password: string) => ({ Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` });
    expect((await fetch(`${url}/admin/queues/api/queues`, { headers: basic('guess') })).status).toBe(429);
    expect((await fetch(`${url}/admin/queues/api/queues`, { headers: basic(TEST_ADMIN_TOKEN) })).status).toBe(200);
  });

  it('keeps one count per address across API processes sharing Redis', async () => {
    // A second "process": its own Services, app and connections on the same Redis key prefix.
    const other = createServices(ctx.config, { log: createLogger('silent'), metrics: createMetrics(), redis: createRedis(ctx.config.redis, 'fail-fast', 'second') });
    await waitForRedis(other.redis, 5000);
    const second = await startServer(createHttpHandler(other), 0, '127.0.0.1');
    try {
      const dashboard = (base: string) => fetch(`${base}/api/wallet`, { headers: { Authorization: 'Bearer not.a.jwt' } }).then((r) => r.status);
      const first = [];
      for (let i = 0; i < LIMIT / 2; i++) first.push(await dashboard(url));
      const then = [];
      for (let i = 0; i < LIMIT / 2; i++) then.push(await dashboard(`http://127.0.0.1:${second.port}`));
      expect([...first, ...then].every((s) => s === 401)).toBe(true);
      expect(await dashboard(`http://127.0.0.1:${second.port}`)).toBe(429);
      expect(await dashboard(url)).toBe(429);
    } finally {
      await second.close(1000);
      await other.close();
    }
  });
});
