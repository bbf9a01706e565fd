// The call gate's Redis circuit breaker (shared/calls/redis-breaker.ts, issue 15), first as a
// state machine on a test clock, then through the real app with the service's Redis behind a TCP
// proxy the test cuts and stalls (real Redis, real Postgres): it opens after consecutive
// failures, decides from Postgres without touching Redis while open (not even a stalled one), and
// closes once a probe finds Redis answering again.
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createRedisBreaker } from '../../shared/calls/redis-breaker';
import { waitForRedis } from '../../shared/redis';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';
import { TEST_REDIS_URL } from '../support/redis';
import { createTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/eventually';
import { assistantRequest, gateCount, postWebhook, registerNumber, type TestNumber } from '../support/vapi';

describe('Redis circuit breaker: the state machine', () => {
  const setup = () => {
    let t = 1_000_000;
    const metrics = createMetrics();
    const breaker = createRedisBreaker({ metrics, log: createLogger('silent'), failures: 3, coolDownMs: 1000, nowMs: () => t });
    return { breaker, metrics, advance: (ms: number) => (t += ms) };
  };
  const transitions = async (metrics: ReturnType<typeof createMetrics>, to: string) => (await metrics.redisBreakerTransitions.get()).values.find((v) => v.labels.to === to)?.value ?? 0;

  it('opens after consecutive failures only; a success in between resets the count', async () => {
    const { breaker, metrics } = setup();
    breaker.failure();
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state()).toBe('closed');
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state()).toBe('open');
    expect(breaker.allow()).toBe(false);
    expect(await transitions(metrics, 'open')).toBe(1);
    expect((await metrics.redisBreakerOpen.get()).values[0]?.value).toBe(1);
  });

  it('lets one probe through after the cool-down; a failed probe reopens it, a good one closes it', async () => {
    const { breaker, metrics, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    advance(999);
    expect(breaker.allow()).toBe(false);
    advance(1);
    expect(breaker.allow()).toBe(true); // the probe
    expect(breaker.state()).toBe('half_open');
    expect(breaker.allow()).toBe(false); // everyone else still goes to Postgres
    breaker.failure();
    expect(breaker.state()).toBe('open');
    expect(breaker.allow()).toBe(false);
    advance(1000);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state()).toBe('closed');
    expect(breaker.allow()).toBe(true);
    expect([await transitions(metrics, 'open'), await transitions(metrics, 'half_open'), await transitions(metrics, 'closed')]).toEqual([2, 2, 1]);
    expect((await metrics.redisBreakerOpen.get()).values[0]?.value).toBe(0);
  });

  it('replaces a probe that never reported after another cool-down', () => {
    const { breaker, advance } = setup();
    for (let i = 0; i < 3; i++) breaker.failure();
    advance(1000);
    expect(breaker.allow()).toBe(true);
    advance(500);
    expect(breaker.allow()).toBe(false);
    advance(500);
    expect(breaker.allow()).toBe(true);
  });
});

describe('Redis circuit breaker: through the app with Redis cut and stalled', () => {
  // A cool-down long enough that the breaker cannot probe while the test looks at it being open,
  // however slow the shared machine; the probe is then awaited for that long.
  const FAILURES = 3;
  const COOL_DOWN_MS = 4000;
  let ctx: TestContext;
  let proxy: TcpProxy;
  let num: TestNumber;
  let orgId: string;
  beforeAll(async () => {
    const target = new URL(TEST_REDIS_URL);
    proxy = await createTcpProxy(target.hostname, Number(target.port || 6379));
    ctx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, CALL_HOLD_POLICY: 'full', CALL_GATE_BREAKER_FAILURES: String(FAILURES), CALL_GATE_BREAKER_COOL_DOWN_MS: String(COOL_DOWN_MS) });
    orgId = await createFundedOrg(ctx.services, 1_000_000);
    num = await registerNumber(ctx.services, orgId);
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    jest.restoreAllMocks();
    await proxy.up();
    await ctx.close();
    await proxy.down();
  });

  const fallbacks = async (reason: string) =>
    (await ctx.services.metrics.fallbacks.get()).values.filter((v) => v.labels.gate === 'call' && v.labels.to === 'database' && v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
  const heldInPostgres = async (callId: string) => (await ctx.pool.query("select admitted_path from calls where call_id = $1 and hold_state = 'held'", [callId])).rows[0]?.admitted_path as string | undefined;

  it('opens after consecutive Redis failures, decides from Postgres without asking Redis while open, and closes once Redis answers again', async () => {
    const { breaker, hot } = ctx.services.calls;
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'brk-warm'))).body.assistantId).toBe(num.assistantId);
    expect(breaker.state()).toBe('closed');
    const cacheBefore = await gateCount(ctx.services, 'allowed', 'cache');

    // Cut: each decision's Redis step fails at once (fail-fast client), Postgres decides.
    await proxy.down();
    for (let i = 0; i < FAILURES; i++) {
      const r = await postWebhook(ctx.app(), assistantRequest(num, `brk-down-${i}`));
      expect(r.body.assistantId).toBe(num.assistantId);
      expect(await heldInPostgres(`brk-down-${i}`)).toBe('database_fallback');
    }
    expect(breaker.state()).toBe('open');
    expect((await ctx.services.metrics.redisBreakerTransitions.get()).values.find((v) => v.labels.to === 'open')?.value).toBe(1);

    // Open, with Redis now up but stalled (every byte held: a store that would make each step
    // wait its whole CALL_GATE_REDIS_TIMEOUT_MS): decisions go straight to Postgres and neither
    // the number lookup nor the admission sends Redis anything.
    await proxy.up();
    proxy.stall();
    const decide = jest.spyOn(hot, 'decide');
    const get = jest.spyOn(ctx.services.redis, 'get');
    const timeoutsBefore = await fallbacks('redis_timeout');
    const openBefore = await fallbacks('circuit_open');
    const allowedFallbackBefore = await gateCount(ctx.services, 'allowed', 'database_fallback');
    const whileOpen = await Promise.all([0, 1, 2].map((i) => postWebhook(ctx.app(), assistantRequest(num, `brk-open-${i}`))));
    for (const [i, r] of whileOpen.entries()) {
      expect(r.body.assistantId).toBe(num.assistantId);
      expect(await heldInPostgres(`brk-open-${i}`)).toBe('database_fallback');
    }
    expect(decide).not.toHaveBeenCalled();
    expect(get).not.toHaveBeenCalled();
    expect(await fallbacks('redis_timeout')).toBe(timeoutsBefore);
    expect(await fallbacks('circuit_open')).toBe(openBefore + 3);
    expect(await gateCount(ctx.services, 'allowed', 'database_fallback')).toBe(allowedFallbackBefore + 3);
    decide.mockRestore();
    get.mockRestore();

    // Back: after the cool-down one decision probes Redis, finds it answering, and the breaker
    // closes; the cache path decides again.
    await proxy.up();
    await waitForRedis(ctx.services.redis, 10_000);
    await new Promise((r) => setTimeout(r, COOL_DOWN_MS));
    await eventually(async () => {
      await postWebhook(ctx.app(), assistantRequest(num, `brk-back-${Date.now()}`));
      return breaker.state() === 'closed' && (await gateCount(ctx.services, 'allowed', 'cache')) > cacheBefore ? true : undefined;
    });
    const after = await postWebhook(ctx.app(), assistantRequest(num, 'brk-after'));
    expect(after.body.assistantId).toBe(num.assistantId);
    expect(await ctx.services.calls.hot.state(orgId, 'brk-after')).toBe('held');
    expect((await ctx.services.metrics.redisBreakerTransitions.get()).values.find((v) => v.labels.to === 'closed')?.value).toBeGreaterThanOrEqual(1);
  });
});
