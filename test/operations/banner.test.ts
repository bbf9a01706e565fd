// Proves the start-up banner tells a newcomer what they need and nothing they must not see: in
// sandbox mode the URLs, the development secrets in use, a dashboard JWT the API accepts for the
// demo organisation, and curl commands for both gates; outside sandbox mode no secret at all.
import request from 'supertest';
import { DEMO_ORG_ID, renderBanner } from '../../bin/banner';
import { loadConfig, SANDBOX_SECRETS } from '../../shared/config';
import { createTestContext, TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_VAPI_SECRET, type TestContext } from '../support/context';
import { expectLedgerConsistent } from '../support/invariants';

describe('start-up banner', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterEach(async () => expectLedgerConsistent(ctx.pool));
  afterAll(async () => ctx.close());

  it('prints the sandbox warning, every URL, the sandbox secrets and both gates\' commands', async () => {
    const text = await renderBanner(loadConfig({}), { apiPort: 3999, simulators: true });
    expect(text).toContain('SANDBOX MODE');
    expect(text).toContain('NO REAL NUMBER IS BOUGHT');
    for (const url of ['http://127.0.0.1:3999/metrics', 'http://127.0.0.1:3999/admin/queues', 'http://127.0.0.1:3999/openapi.json', 'http://127.0.0.1:4010', 'http://127.0.0.1:4020']) {
      expect(text).toContain(url);
    }
    for (const s of [SANDBOX_SECRETS.ADMIN_TOKEN, SANDBOX_SECRETS.SUPABASE_JWT_SECRET, SANDBOX_SECRETS.VAPI_WEBHOOK_SECRET]) expect(text).toContain(s);
    for (const path of ['/api/admin/orgs', '/credits', '/api/managed-telephony/provision', '/api/managed-telephony/provisioning/', 'assistant-request', 'end-of-call-report']) {
      expect(text).toContain(path);
    }
  });

  it('prints a dashboard token that the API accepts for the demo organisation', async () => {
    const text = await renderBanner(ctx.config, { apiPort: 1, simulators: false });
    const token = /DEMO_JWT=(\S+)/.exec(text)?.[1];
    expect(token).toBeDefined();
    expect(text).toContain(TEST_JWT_SECRET);
    // The billing page's link for the same organisation, token in the fragment (CONTRACT §9).
    expect(text).toContain(`http://127.0.0.1:1/billing#access_token=${token}`);
    const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    expect((await request(ctx.app()).post('/api/admin/orgs').set(admin).send({ name: 'Demo', orgId: DEMO_ORG_ID })).status).toBe(201);
    const wallet = await request(ctx.app()).get('/api/wallet').set('Authorization', `Bearer ${token}`);
    expect(wallet.status).toBe(200);
    expect(wallet.body.orgId).toBe(DEMO_ORG_ID);
  });

  it('prints no secret outside sandbox mode', async () => {
    const live = loadConfig({
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'live-twilio-token-xyz',
      ADMIN_TOKEN: 'live-admin-token-xyz',
      SUPABASE_JWT_SECRET: 'live-jwt-secret-xyz-0123456789',
      VAPI_WEBHOOK_SECRET: TEST_VAPI_SECRET,
      VAPI_API_KEY: 'live-vapi-key-xyz',
      PUBLIC_BASE_URL: 'https://billing.example.com',
      STRIPE_SECRET_KEY: 'sk_live_stripe_key_xyz',
      STRIPE_WEBHOOK_SECRET: 'whsec_live_stripe_xyz',
    });
    const text = await renderBanner(live, { apiPort: 3000, simulators: false });
    expect(text).not.toContain('SANDBOX MODE');
    expect(text).toContain('LIVE MODE');
    for (const secret of ['live-twilio-token-xyz', 'live-admin-token-xyz', 'live-jwt-secret-xyz', TEST_VAPI_SECRET, 'live-vapi-key-xyz', 'sk_live_stripe_key_xyz', 'whsec_live_stripe_xyz', 'DEMO_JWT']) {
      expect(text).not.toContain(secret);
    }
  });
});
