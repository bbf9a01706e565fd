// The webhook's fast lane (api/webhook-fast-lane.ts) answers requests that carry the shared secret
// before express runs (issue 15). Proves (1) which requests it takes and which it leaves to
// express: only POST to the exact path with the shared secret and an uncompressed body; (2) that
// every answer it gives is the one the express route gives for the same request (status,
// Content-Type, body), for allowed and refused calls, other message types, malformed, empty and
// oversized bodies; (3) that its requests are counted in the HTTP histogram under the route's
// own labels.
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { createApp } from '../../api/app';
import { createHttpHandler, WEBHOOK_PATH, webhookFastLane } from '../../api/webhook-fast-lane';
import { httpDurationRecorder } from '../../api/middleware/http-metrics';
import { webhookDeps, webhookDispatcher } from '../../api/routes/vapi-webhook';
import { listenLocal } from '../../sandbox/listen';
import { signTimestamped } from '../../shared/timestamped-hmac';
import { createFundedOrg, createTestContext, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { assistantRequest, registerNumber, statusUpdate, type TestNumber } from '../support/vapi';

const HMAC_SECRET = 'lane-hmac-secret-0123456789';
const BODY_LIMIT = 4096;

describe('the webhook fast lane', () => {
  let ctx: TestContext;
  let num: TestNumber;
  beforeAll(async () => {
    ctx = await createTestContext({ VAPI_WEBHOOK_HMAC_SECRET: HMAC_SECRET, VAPI_WEBHOOK_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    const orgId = await createFundedOrg(ctx.services, 50_000_000);
    num = await registerNumber(ctx.services, orgId);
  });
  afterAll(async () => ctx.close());

  describe('which requests it takes', () => {
    // A server that runs only the lane: what it does not take is answered 404 'left to express'.
    let url: string;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const { config, metrics, log } = ctx.services;
      const take = webhookFastLane({
        auth: { secret: config.auth.vapiWebhookSecret, hmacSecret: config.auth.vapiWebhookHmacSecret, maxSkewSeconds: config.auth.vapiWebhookMaxSkewSeconds },
        bodyBytes: config.callGate.webhookBodyBytes,
        dispatcher: webhookDispatcher(webhookDeps(ctx.services)),
        record: httpDurationRecorder(metrics),
        log,
      });
      ({ url, close } = await listenLocal((req, res) => {
        if (take(req, res)) return;
        req.resume();
        res.statusCode = 404;
        res.end('left to express');
      }));
    });
    afterAll(async () => close());

    const body = JSON.stringify({ message: { type: 'conversation-update', messages: [] } });
    const send = (path: string, headers: Record<string, string>, method = 'POST') =>
      fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'POST' ? body : undefined }).then(async (r) => [r.status, await r.text()]);

    it('takes POST to the exact path with the shared secret, in x-vapi-secret or as a Bearer token', async () => {
      expect(await send(WEBHOOK_PATH, { 'x-vapi-secret': TEST_VAPI_SECRET })).toEqual([200, '{"received":true}']);
      expect(await send(WEBHOOK_PATH, { authorization: `Bearer ${TEST_VAPI_SECRET}` })).toEqual([200, '{"received":true}']);
      expect(await send(WEBHOOK_PATH, { 'x-vapi-secret': TEST_VAPI_SECRET, 'content-encoding': 'identity' })).toEqual([200, '{"received":true}']);
    });

    it('leaves to express: no or wrong credentials, HMAC, another method or path, a query string, a compressed body', async () => {
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = signTimestamped(HMAC_SECRET, ts, body);
      const left = [
        await send(WEBHOOK_PATH, {}),
        await send(WEBHOOK_PATH, { 'x-vapi-secret': 'wrong-secret-0000' }),
        await send(WEBHOOK_PATH, { authorization: `Basic ${TEST_VAPI_SECRET}` }),
        await send(WEBHOOK_PATH, { 'x-timestamp': ts, 'x-signature': signature }),
        await send(WEBHOOK_PATH, { 'x-vapi-secret': TEST_VAPI_SECRET }, 'GET'),
        await send(`${WEBHOOK_PATH}?x=1`, { 'x-vapi-secret': TEST_VAPI_SECRET }),
        await send('/api/vapi/webhook/', { 'x-vapi-secret': TEST_VAPI_SECRET }),
        await send('/api/vapi/other', { 'x-vapi-secret': TEST_VAPI_SECRET }),
        await send(WEBHOOK_PATH, { 'x-vapi-secret': TEST_VAPI_SECRET, 'content-encoding': 'gzip' }),
      ];
      expect(left).toEqual(left.map(() => [404, 'left to express']));
    });
  });

  describe('answers exactly as the express route does', () => {
    const viaLane = () => ctx.app();
    let viaExpress: RequestListener;
    beforeAll(() => {
      viaExpress = createApp(ctx.services);
    });

    async function answer(app: RequestListener, payload: string | Buffer, headers: Record<string, string> = { 'x-vapi-secret': TEST_VAPI_SECRET }) {
      const res = await request(app).post(WEBHOOK_PATH).set('Content-Type', 'application/json').set(headers).send(payload);
      return { status: res.status, type: res.headers['content-type'], body: res.text };
    }

    const cases: Array<[string, (k: string) => string | Buffer]> = [
      ['an allowed assistant-request', (k) => JSON.stringify(assistantRequest(num, `lane-allowed-${k}`))],
      ['a call on an unknown number (refused)', (k) => JSON.stringify(assistantRequest({ vapiPhoneNumberId: 'pn-nobody', e164: '+14155559999' }, `lane-unknown-${k}`))],
      ['a status-update for an unknown call', (k) => JSON.stringify(statusUpdate(`lane-status-${k}`, 'in-progress'))],
      ['a message type the gate ignores', () => JSON.stringify({ message: { type: 'speech-update', status: 'started', role: 'user' } })],
      ['malformed JSON', () => '{"message": {"type": "assistant-request",'],
      ['JSON that is not a Vapi message', () => '[1,2,3]'],
      ['an empty body', () => ''],
      ['a body over the limit', () => JSON.stringify({ message: { type: 'conversation-update', pad: 'x'.repeat(BODY_LIMIT) } })],
    ];

    it.each(cases)('%s', async (_name, payload) => {
      const lane = await answer(viaLane(), payload('lane'));
      const express = await answer(viaExpress, payload('express'));
      expect(lane).toEqual(express);
      expect(lane.status).toBe(200);
    });

    it('a Bearer token, as x-vapi-secret', async () => {
      const headers = { authorization: `Bearer ${TEST_VAPI_SECRET}` };
      expect(await answer(viaLane(), JSON.stringify(assistantRequest(num, 'lane-bearer-a')), headers)).toEqual(await answer(viaExpress, JSON.stringify(assistantRequest(num, 'lane-bearer-b')), headers));
    });

    it('an allowed call is held through the lane (its hold is in Redis at once)', async () => {
      const res = await answer(viaLane(), JSON.stringify(assistantRequest(num, 'lane-held')));
      expect(JSON.parse(res.body)).toMatchObject({ assistantId: num.assistantId, assistantOverrides: { metadata: { orgId: num.orgId } } });
      expect(await ctx.services.redis.hget(ctx.services.keys.holds(num.orgId), 'lane-held')).toMatch(/^h\|/);
    });
  });

  it('counts its requests in the HTTP histogram under the route template, as express does', async () => {
    const app = createHttpHandler(ctx.services);
    const count = async () => {
      const metric = await ctx.services.metrics.httpDuration.get();
      const sample = metric.values.find((v) => v.metricName === 'billing_gates_http_request_duration_seconds_count' && v.labels.route === WEBHOOK_PATH && String(v.labels.status) === '200' && v.labels.method === 'POST');
      return sample?.value ?? 0;
    };
    const before = await count();
    for (let i = 0; i < 3; i++) {
      await request(app).post(WEBHOOK_PATH).set('x-vapi-secret', TEST_VAPI_SECRET).send({ message: { type: 'speech-update' } });
    }
    expect((await count()) - before).toBe(3);
  });
});
