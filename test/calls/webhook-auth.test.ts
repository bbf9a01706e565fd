// Proves the Vapi webhook's authentication and its always-200 rule: the shared secret (header or
// Bearer) or a fresh HMAC over the raw body gets in; anything else is 401; once authenticated,
// malformed JSON, unknown shapes and unknown types all get HTTP 200 (failure mode 16).
import request from 'supertest';
import { signTimestamped } from '../../shared/timestamped-hmac';
import { createTestContext, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { assistantRequest } from '../support/vapi';

const HMAC_SECRET = 'test-hmac-secret-0123456789';
const sign = (timestamp: string, body: string) => signTimestamped(HMAC_SECRET, timestamp, body);

describe('vapi webhook authentication and shape tolerance', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ VAPI_WEBHOOK_HMAC_SECRET: HMAC_SECRET, VAPI_WEBHOOK_MAX_SKEW_SECONDS: '300' });
  });
  afterAll(async () => ctx.close());

  const body = JSON.stringify({ message: { type: 'conversation-update', messages: [] } });
  const post = () => request(ctx.app()).post('/api/vapi/webhook').set('Content-Type', 'application/json');

  describe('security', () => {
    it('rejects a request without credentials with 401', async () => {
      const res = await post().send(body);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
    });

    it('rejects a wrong x-vapi-secret and a wrong Bearer token with 401', async () => {
      expect((await post().set('x-vapi-secret', 'wrong-secret-000').send(body)).status).toBe(401);
      expect((await post().set('Authorization', 'Bearer wrong-secret-000').send(body)).status).toBe(401);
      expect((await post().set('Authorization', `Basic ${Buffer.from(`x:${TEST_VAPI_SECRET}`).toString('base64')}`).send(body)).status).toBe(401);
    });

    it('accepts the secret in x-vapi-secret or as a Bearer token', async () => {
      const a = await post().set('x-vapi-secret', TEST_VAPI_SECRET).send(body);
      const b = await post().set('Authorization', `Bearer ${TEST_VAPI_SECRET}`).send(body);
      expect([a.status, a.body]).toEqual([200, { received: true }]);
      expect([b.status, b.body]).toEqual([200, { received: true }]);
    });

    it('accepts a valid HMAC signature with a timestamp in seconds or in milliseconds', async () => {
      const seconds = String(Math.floor(Date.now() / 1000));
      const ms = String(Date.now());
      const a = await post().set('x-timestamp', seconds).set('x-signature', sign(seconds, body)).send(body);
      const b = await post().set('x-timestamp', ms).set('x-signature', sign(ms, body)).send(body);
      expect([a.status, a.body]).toEqual([200, { received: true }]);
      expect(b.status).toBe(200);
    });

    it('rejects an HMAC over other bytes, with another secret, or with a stale timestamp', async () => {
      const now = String(Math.floor(Date.now() / 1000));
      const stale = String(Math.floor(Date.now() / 1000) - 301);
      const other = signTimestamped('another-secret-123', now, body);
      expect((await post().set('x-timestamp', now).set('x-signature', sign(now, `${body} `)).send(body)).status).toBe(401);
      expect((await post().set('x-timestamp', now).set('x-signature', other).send(body)).status).toBe(401);
      expect((await post().set('x-timestamp', stale).set('x-signature', sign(stale, body)).send(body)).status).toBe(401);
      expect((await post().set('x-signature', sign(now, body)).send(body)).status).toBe(401);
      expect((await post().set('x-timestamp', now).set('x-signature', 'not-hex').send(body)).status).toBe(401);
    });
  });

  describe('after authentication every message gets 200', () => {
    const authed = () => post().set('x-vapi-secret', TEST_VAPI_SECRET);

    it.each([
      ['malformed JSON', '{"message": {"type": "assistant-req'],
      ['an empty body', ''],
      ['a JSON array', '[1,2,3]'],
      ['no message', '{"hello":"world"}'],
      ['a message without a type', '{"message":{"call":{"id":"x"}}}'],
      ['an unknown type', '{"message":{"type":"speech-update","status":"started"}}'],
      ['a report with wrongly typed fields', '{"message":{"type":"end-of-call-report","call":{"id":42},"startedAt":7}}'],
      ['a status-update of an unknown call', '{"message":{"type":"status-update","status":"ended","call":{"id":"call-unknown"}}}'],
    ])('answers 200 to %s', async (_name, raw) => {
      const res = await authed().send(raw);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true });
    });

    it('answers a malformed assistant-request with a spoken refusal, not an error status', async () => {
      const res = await authed().send(JSON.stringify({ message: { type: 'assistant-request', call: {} } }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ error: expect.stringMatching(/\w+ \w+/) });
    });

    it('tolerates a large payload with unknown fields', async () => {
      const big = assistantRequest({ vapiPhoneNumberId: 'pn-nobody', e164: '+14155559999' }) as { message: Record<string, unknown> };
      big.message.artifact = { transcript: 'x'.repeat(500_000), extra: { nested: [1, 2, 3] } };
      const res = await authed().send(JSON.stringify(big));
      expect(res.status).toBe(200);
      expect(res.body.error).toMatch(/not in service/);
    });

    it('answers 200 to an authenticated body above the size limit, and 401 without the secret', async () => {
      const huge = JSON.stringify({ message: { type: 'end-of-call-report', artifact: 'x'.repeat(ctx.config.callGate.webhookBodyBytes) } });
      expect((await authed().send(huge)).status).toBe(200);
      expect((await post().send(huge)).status).toBe(401);
    });
  });
});
