// Proves, with generated input (fast-check, seeded and bounded), the Vapi webhook's two rules
// under hostile traffic: without valid credentials (none, a wrong secret in either header, a bad
// HMAC) every request is 401 whatever its body; with the secret every request is 200 whatever its
// body — malformed or truncated JSON, raw bytes, deep nesting, oversized, wrong-typed fields, any
// message type — and an assistant-request answer is always either a refusal sentence or an
// assistant for a number we know (failure mode 16). None of it moves money.
import fc from 'fast-check';
import { createFundedOrg, createTestContext, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { anyText, expectClientError, fuzzParams, headerText, hostileBody, ledgerState, listen, type FuzzServer } from '../support/fuzz';
import { expectLedgerConsistent } from '../support/invariants';
import { registerNumber, type TestNumber } from '../support/vapi';

const HMAC_SECRET = 'fuzz-hmac-secret-0123456789';
const json = { 'Content-Type': 'application/json' };

describe('fuzzing the Vapi webhook', () => {
  let ctx: TestContext;
  let server: FuzzServer;
  let known: TestNumber;

  beforeAll(async () => {
    // Floods of failed authentication are throttled in production; this file measures the
    // webhook's answers, not the limiter, so the limit is set above what it sends.
    ctx = await createTestContext({ VAPI_WEBHOOK_HMAC_SECRET: HMAC_SECRET, AUTH_FAILURES_PER_MINUTE: '100000' });
    server = await listen(ctx);
    known = await registerNumber(ctx.services, await createFundedOrg(ctx.services, 10_000));
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => {
    await server.close();
    await ctx.close();
  });

  const webhook = (headers: Record<string, string>, body: string | Uint8Array) => server.send('POST', '/api/vapi/webhook', { headers: { ...json, ...headers }, body });

  const anyBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(hostileBody, fc.uint8Array({ maxLength: 2000 }));

  /** A Vapi-like message with every field generated, often of the wrong type. */
  const wild = fc.anything({ maxDepth: 2, maxKeys: 4 });
  const message = () => fc
    .record(
      {
        type: fc.oneof(fc.constantFrom('assistant-request', 'status-update', 'end-of-call-report', 'tool-calls', 'hang', 'conversation-update', ''), anyText(20), wild),
        status: fc.oneof(fc.constantFrom('ended', 'in-progress'), wild),
        call: fc.oneof(fc.record({ id: fc.oneof(anyText(30), wild), phoneNumberId: fc.oneof(fc.constant(known.vapiPhoneNumberId), anyText(30), wild), startedAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyText(30), wild), endedAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyText(30), wild), metadata: fc.oneof(fc.record({ orgId: fc.oneof(fc.uuid(), wild) }), wild) }, { requiredKeys: [] }), wild),
        phoneNumber: fc.oneof(fc.record({ id: fc.oneof(anyText(30), wild), number: fc.oneof(anyText(20), wild) }, { requiredKeys: [] }), wild),
        durationSeconds: fc.oneof(fc.double(), fc.integer(), wild),
        startedAt: fc.oneof(anyText(30), wild),
        endedAt: fc.oneof(anyText(30), wild),
      },
      { requiredKeys: [] },
    )
    .map((m) => JSON.stringify({ message: m }));

  it('answers 401 to every request without valid credentials, whatever the body', async () => {
    const credentials = fc.oneof(
      fc.constant({}),
      headerText(60).filter((s) => s !== TEST_VAPI_SECRET).map((s) => ({ 'x-vapi-secret': s })),
      headerText(60).filter((s) => s !== TEST_VAPI_SECRET).map((s) => ({ Authorization: `Bearer ${s}` })),
      fc.tuple(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), fc.integer({ min: 0, max: 2 ** 40 })).map(([sig, ts]) => ({ 'x-signature': sig, 'x-timestamp': String(ts) })),
      fc.constantFrom({ Authorization: TEST_VAPI_SECRET }, { 'x-vapi-secret': `${TEST_VAPI_SECRET}x` }, { 'x-vapi-secret': TEST_VAPI_SECRET.slice(0, -1) }, { Authorization: `Basic ${Buffer.from(`vapi:${TEST_VAPI_SECRET}`).toString('base64')}` }),
    );
    const before = await ledgerState(ctx.pool);
    await fc.assert(
      fc.asyncProperty(credentials, anyBody, async (headers, body) => {
        const r = await webhook(headers as Record<string, string>, body);
        expectClientError(r, `webhook with ${JSON.stringify(headers).slice(0, 80)}`);
        expect(r.status).toBe(401);
      }),
      fuzzParams(),
    );
    expect(await ledgerState(ctx.pool)).toEqual(before);
  });

  it('answers 200 to every authenticated request, whatever the body', async () => {
    const auth = fc.constantFrom<Record<string, string>>({ 'x-vapi-secret': TEST_VAPI_SECRET }, { Authorization: `Bearer ${TEST_VAPI_SECRET}` });
    const before = await ledgerState(ctx.pool);
    await fc.assert(
      fc.asyncProperty(auth, fc.oneof(anyBody, message()), async (headers, body) => {
        const r = await webhook(headers, body);
        if (r.status !== 200) throw new Error(`authenticated webhook → ${r.status} ${r.text.slice(0, 200)} for ${String(body).slice(0, 120)}`);
        const answer = r.json as Record<string, unknown>;
        if ('assistantId' in answer) expect(answer.assistantId).toBe(known.assistantId);
        else if ('error' in answer) expect(typeof answer.error === 'string' && answer.error.length > 0).toBe(true);
        else expect(answer).toEqual({ received: true });
      }),
      fuzzParams(150),
    );
    expect(await ledgerState(ctx.pool)).toEqual(before);
  });

  it('answers an oversized body 200 with the secret and 401 without', async () => {
    const limit = ctx.config.callGate.webhookBodyBytes;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: limit + 1, max: limit + 1_000_000 }), async (size) => {
        const body = JSON.stringify({ message: { type: 'conversation-update', pad: 'x'.repeat(size) } });
        expect((await webhook({ 'x-vapi-secret': TEST_VAPI_SECRET }, body)).status).toBe(200);
        expect((await webhook({}, body)).status).toBe(401);
      }),
      fuzzParams(3),
    );
  });
});
