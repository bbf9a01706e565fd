// Proves that no secret reaches the logs. The service's own logger (shared/logger.ts, at trace
// level) writes into a buffer; requests then carry every kind of secret — the operator token
// (bearer and basic), dashboard JWTs, the Vapi secret (header and bearer), HMAC signatures, and
// wrong guesses of each — through happy paths, refusals, malformed bodies and, with the database
// closed, the error paths that log the most. The buffer must hold log lines (the capture works)
// and none of the secrets, nor the tokens built from them.
import { Writable } from 'node:stream';
import request from 'supertest';
import { createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { dashboardToken } from '../support/jwt';
import { assistantRequest, registerNumber } from '../support/vapi';
import { createLogger } from '../../shared/logger';
import { signTimestamped } from '../../shared/timestamped-hmac';

const HMAC_SECRET = 'log-test-hmac-secret-0123456789';
const WRONG_ADMIN = 'wrong-admin-token-guess-9f8e7d';
const WRONG_VAPI = 'wrong-vapi-secret-guess-1a2b3c';

describe('secrets in logs', () => {
  let ctx: TestContext;
  const lines: string[] = [];
  const secrets: Record<string, string> = {
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    VAPI_WEBHOOK_SECRET: TEST_VAPI_SECRET,
    VAPI_WEBHOOK_HMAC_SECRET: HMAC_SECRET,
    'a guessed operator token': WRONG_ADMIN,
    'a guessed Vapi secret': WRONG_VAPI,
  };

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    ctx = await createTestContext({ VAPI_WEBHOOK_HMAC_SECRET: HMAC_SECRET }, { log: createLogger('trace', {}, sink) });
  });
  afterAll(async () => ctx.close());

  const admin = (auth: string) => request(ctx.app()).post('/api/admin/orgs').set('Authorization', auth);
  const webhook = () => request(ctx.app()).post('/api/vapi/webhook').set('Content-Type', 'application/json');

  async function exercise(orgId: string | undefined): Promise<void> {
    const basic = `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`;
    secrets['the basic-auth header'] = basic.slice('Basic '.length);
    await admin(`Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Logged Org' });
    await admin(`Bearer ${WRONG_ADMIN}`).send({ name: 'x' });
    await admin(basic).send({ name: 'x' });
    await admin(`Bearer ${TEST_ADMIN_TOKEN}`).set('Content-Type', 'application/json').send(`{"name": "${TEST_ADMIN_TOKEN}",`);
    await request(ctx.app()).get('/metrics').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
    await request(ctx.app()).get('/metrics').set('Authorization', `Bearer ${WRONG_ADMIN}`);
    await request(ctx.app()).get('/admin/queues/api/queues').set('Authorization', basic);
    await request(ctx.app()).get('/admin/queues/api/queues').set('Authorization', `Basic ${Buffer.from(`admin:${WRONG_ADMIN}`).toString('base64')}`);

    const user = await dashboardToken(TEST_JWT_SECRET, orgId ?? '00000000-0000-4000-8000-000000000000');
    const forged = await dashboardToken('forged-secret-0123456789abcdef0123', orgId ?? '00000000-0000-4000-8000-000000000000');
    secrets['a dashboard JWT'] = user;
    secrets['a forged dashboard JWT'] = forged;
    await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${user}`);
    await request(ctx.app()).get('/api/wallet/transactions').set('Authorization', `Bearer ${user}`);
    await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${forged}`);
    await request(ctx.app()).post('/api/managed-telephony/provision').set('Authorization', `Bearer ${user}`).set('Idempotency-Key', `p-${forged.length}`).send({ areaCode: '415' });
    await request(ctx.app()).post('/api/managed-telephony/provision').set('Authorization', `Bearer ${forged}`).set('Idempotency-Key', 'p-forged').send({ areaCode: '415' });

    const body = JSON.stringify(assistantRequest({ vapiPhoneNumberId: 'pn-unknown', e164: '+14155550199' }));
    const ts = String(Math.floor(Date.now() / 1000));
    const signature = signTimestamped(HMAC_SECRET, ts, body);
    secrets['an HMAC signature'] = signature;
    await webhook().set('x-vapi-secret', TEST_VAPI_SECRET).send(body);
    await webhook().set('Authorization', `Bearer ${TEST_VAPI_SECRET}`).send(JSON.stringify({ message: { type: 'end-of-call-report', call: {} } }));
    await webhook().set('x-vapi-secret', TEST_VAPI_SECRET).send('{"message": not json');
    await webhook().set('x-timestamp', ts).set('x-signature', signature).send(body);
    await webhook().set('x-vapi-secret', WRONG_VAPI).send(body);
    await webhook().set('Authorization', `Bearer ${WRONG_VAPI}`).send(body);

    // Live-call-control URLs (whoever holds one controls the call): one the service keeps, one it
    // refuses for its host; neither may reach a log, even when storing it fails.
    const kept = 'http://127.0.0.1:9/call/ctl-call-1/control-secret-4f2a9c';
    const refused = 'https://evil.example.com/call/ctl-call-2/control-secret-9b1c7d';
    secrets['a call control URL'] = kept;
    secrets['a refused call control URL'] = refused;
    for (const [id, url] of [['ctl-call-1', kept], ['ctl-call-2', refused]] as const) {
      await webhook().set('x-vapi-secret', TEST_VAPI_SECRET).send(JSON.stringify({ message: { type: 'status-update', status: 'in-progress', call: { id, monitor: { controlUrl: url, listenUrl: `${url}/listen` } } } }));
    }
  }

  it('logs what happened without any secret, on happy paths, refusals and error paths', async () => {
    const org = await request(ctx.app()).post('/api/admin/orgs').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Org' });
    const orgId = org.body.orgId as string;
    await registerNumber(ctx.services, orgId);
    await exercise(orgId);

    // With the database gone, the error paths log the most; the secrets must still stay out.
    await ctx.services.rpc.close();
    const down = await request(ctx.app()).post(`/api/admin/orgs/${orgId}/credits`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).set('Idempotency-Key', 'k').send({ amount: 100, reason: TEST_VAPI_SECRET.slice(0, 4) });
    expect(down.status).toBe(503);
    await exercise(orgId);

    const log = lines.join('');
    expect(log).toContain('database unavailable');
    expect(log).toContain('vapi webhook: not a Vapi message');
    const leaked = Object.entries(secrets).filter(([, value]) => log.includes(value)).map(([name]) => name);
    expect(leaked).toEqual([]);
  });

  it('redacts credentials by path wherever a log call puts them', () => {
    const captured: string[] = [];
    const log = createLogger('info', {}, { write: (s: string) => void captured.push(s) });
    log.info({ req: { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'x-vapi-secret': TEST_VAPI_SECRET, 'x-signature': 'abc123sig' } } }, 'request');
    log.info({ twilio: { authToken: 'twilio-token-value' }, vapi: { apiKey: 'vapi-key-value' }, authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, 'clients');
    log.info({ call: { controlUrl: 'https://a.vapi.ai/ctl-1' }, message: { call: { monitor: { controlUrl: 'https://a.vapi.ai/ctl-2' } } } }, 'control');
    const out = captured.join('');
    for (const value of [TEST_ADMIN_TOKEN, TEST_VAPI_SECRET, 'abc123sig', 'twilio-token-value', 'vapi-key-value', 'ctl-1', 'ctl-2']) expect(out).not.toContain(value);
    expect(out).toContain('[redacted]');
  });
});
