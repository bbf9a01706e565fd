// Failure mode 27, "rate limits that count good traffic": the failed-authentication limiter
// (api/middleware/rate-limit.ts) must count failures only. Credentials that can be judged only
// after the headers (an HMAC over the body, a dashboard JWT) used to be counted while in flight and
// handed back after a good answer, so a burst of correctly signed requests ran into 429. Here, with
// a limit of 5 on a real server and real Redis: 100 concurrent HMAC-signed assistant-requests,
// secret and Bearer webhooks, and dashboard reads all pass; forged signatures are still throttled
// after exactly the limit, and a burst of valid ones neither adds to nor hides that count.
import { randomUUID } from 'node:crypto';
import { startServer, type RunningServer } from '../../api/server';
import { signTimestamped } from '../../shared/timestamped-hmac';
import { createFundedOrg, createTestContext, TEST_JWT_SECRET, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { dashboardToken } from '../support/jwt';
import { deleteByPrefix } from '../support/redis';
import { assistantRequest, registerNumber, type TestNumber } from '../support/vapi';

const LIMIT = 5;
const BURST = 100;
const HMAC_SECRET = 'test-hmac-secret-0123456789';

function signed(body: string, secret = HMAC_SECRET): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { 'x-timestamp': timestamp, 'x-signature': signTimestamped(secret, timestamp, body) };
}

describe('the failed-authentication limiter never counts good traffic', () => {
  let ctx: TestContext;
  let server: RunningServer;
  let url: string;
  let num: TestNumber;
  let orgId: string;

  beforeAll(async () => {
    ctx = await createTestContext({ AUTH_FAILURES_PER_MINUTE: String(LIMIT), VAPI_WEBHOOK_HMAC_SECRET: HMAC_SECRET, VAPI_WEBHOOK_MAX_SKEW_SECONDS: '300' });
    server = await startServer(ctx.app(), 0, '127.0.0.1');
    url = `http://127.0.0.1:${server.port}`;
    // Enough for every call of every burst to be admitted.
    orgId = await createFundedOrg(ctx.services, 10_000_000);
    num = await registerNumber(ctx.services, orgId);
    // Open the client's connections first (secret-authenticated, never counted), so that every
    // burst below is really concurrent and not paced by TCP handshakes.
    const warm = JSON.stringify({ message: { type: 'conversation-update', messages: [] } });
    await Promise.all(Array.from({ length: BURST }, () => webhook(warm, { 'x-vapi-secret': TEST_VAPI_SECRET })));
  });
  // Each test starts with a clean count for 127.0.0.1.
  beforeEach(async () => deleteByPrefix(ctx.services.redis, `${ctx.services.keys.prefix}:rl`));
  afterAll(async () => {
    await server.close(1000);
    await ctx.close();
  });

  async function webhook(body: string, headers: Record<string, string>) {
    const res = await fetch(`${url}/api/vapi/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const hmacAssistantRequest = () => {
    const body = JSON.stringify(assistantRequest(num, `call-${randomUUID()}`));
    return webhook(body, signed(body));
  };
  const forged = () => {
    const body = JSON.stringify(assistantRequest(num, `call-${randomUUID()}`));
    return webhook(body, signed(body, 'a-forger-s-guess-0000000000'));
  };
  const statuses = (rs: Array<{ status: number }>) => rs.map((r) => r.status);

  it('never throttles a burst of correctly HMAC-signed assistant-requests', async () => {
    const burst = await Promise.all(Array.from({ length: BURST }, hmacAssistantRequest));
    expect(statuses(burst).filter((s) => s !== 200)).toEqual([]);
    expect(burst.every((r) => r.body.assistantId === num.assistantId)).toBe(true);
  });

  it('never throttles a burst of concurrent secret and Bearer webhook calls', async () => {
    const burst = await Promise.all(
      Array.from({ length: BURST }, (_, i) => {
        const body = JSON.stringify(assistantRequest(num, `call-${randomUUID()}`));
        return webhook(body, i % 2 ? { 'x-vapi-secret': TEST_VAPI_SECRET } : { Authorization: `Bearer ${TEST_VAPI_SECRET}` });
      }),
    );
    expect(statuses(burst).filter((s) => s !== 200)).toEqual([]);
  });

  it('never throttles a burst of concurrent dashboard reads with a valid token', async () => {
    const token = await dashboardToken(TEST_JWT_SECRET, orgId);
    const burst = await Promise.all(Array.from({ length: BURST }, () => fetch(`${url}/api/wallet`, { headers: { Authorization: `Bearer ${token}` } })));
    expect(burst.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  });

  it('still throttles forged signatures after the limit, with the JSON 429 body', async () => {
    const answers = [];
    for (let i = 0; i < LIMIT + 3; i++) answers.push(await forged());
    expect(statuses(answers)).toEqual([...Array(LIMIT).fill(401), 429, 429, 429]);
    expect(answers[LIMIT]!.body).toEqual({ error: 'rate_limited', message: expect.any(String) });
    // Vapi's own signed traffic from the same, throttled address still gets through.
    expect((await hmacAssistantRequest()).status).toBe(200);
  });

  it('leaves the forged count unaffected by a burst of valid signatures', async () => {
    expect(statuses([await forged(), await forged()])).toEqual([401, 401]);
    const burst = await Promise.all(Array.from({ length: BURST }, hmacAssistantRequest));
    expect(statuses(burst).filter((s) => s !== 200)).toEqual([]);
    // Three failures left in the window, neither more (valid ones not handed back as credit) nor fewer.
    const rest = [];
    for (let i = 0; i < LIMIT - 1; i++) rest.push(await forged());
    expect(statuses(rest)).toEqual([401, 401, 401, 429]);
  });
});
