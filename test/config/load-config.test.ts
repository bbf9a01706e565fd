// Proves the configuration contract (CONTRACT section 1) at loadConfig: every malformed setting is
// refused with an error naming its variable (and never echoing a secret's value); outside sandbox
// mode (TWILIO_ACCOUNT_SID set) every secret is required and named when missing; in sandbox mode
// the documented defaults and development secrets apply.
import { ConfigError, DEFAULT_DATABASE_URL, loadConfig, SANDBOX_SECRETS } from '../../shared/config';

const SID = 'AC0123456789abcdef0123456789abcdef';
/** A complete production environment: every secret present. */
const production: Record<string, string> = {
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-value',
  ADMIN_TOKEN: 'admin-token-value-123',
  SUPABASE_JWT_SECRET: 'jwt-secret-value-0123456789',
  VAPI_WEBHOOK_SECRET: 'vapi-webhook-secret-value',
  VAPI_API_KEY: 'vapi-api-key-value',
  PUBLIC_BASE_URL: 'https://billing.example.com',
  STRIPE_SECRET_KEY: 'sk_live_stripe_secret_value',
  STRIPE_WEBHOOK_SECRET: 'whsec_stripe_webhook_secret_value',
};

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  describe('malformed settings', () => {
    it.each([
      ['PHONE_NUMBER_PRICE', 'abc'],
      ['PHONE_NUMBER_PRICE', '10.5'],
      ['PHONE_NUMBER_PRICE', '0'],
      ['PHONE_NUMBER_PRICE', '-1000'],
      ['CALL_MIN_BALANCE', '-1'],
      ['CALL_RATE_PER_MINUTE', '0'],
      ['CALL_RATE_PER_MINUTE', '1e3'],
      ['CALL_GATE_FAIL_MODE', 'maybe'],
      ['PORT', '0'],
      ['PORT', '65536'],
      ['PORT', 'http'],
      ['PROVISION_MAX_ATTEMPTS', '0'],
      ['PROVISION_BACKOFF_MS', 'soon'],
      ['DATABASE_URL', 'not a url'],
      ['REDIS_URL', '127.0.0.1:6379'],
      ['SUPABASE_URL', 'project'],
      ['TWILIO_ACCOUNT_SID', 'AC123'],
      ['CURRENCY', 'GBP'],
      ['LOG_LEVEL', 'loud'],
      ['HTTP_BODY_LIMIT_BYTES', '10'],
      ['REDIS_KEY_PREFIX', 'has space'],
      ['REDIS_CLUSTER_NODES', '127.0.0.1'],
      ['REDIS_CLUSTER_NODES', 'redis://127.0.0.1:7001'],
      ['REDIS_CLUSTER_NODES', '127.0.0.1:7001;127.0.0.1:7002'],
      ['REDIS_CLUSTER_NODES', '127.0.0.1:7001,'],
      ['REDIS_CLUSTER_NODES', '127.0.0.1:70000'],
      ['REDIS_CLUSTER_NODES', '127.0.0.1:0'],
    ])('names %s when it is %p', (name, value) => {
      const message = refusal({ [name]: value });
      expect(message.startsWith(`${name} `)).toBe(true);
    });

    it.each(['ADMIN_TOKEN', 'SUPABASE_JWT_SECRET', 'VAPI_WEBHOOK_SECRET', 'VAPI_WEBHOOK_HMAC_SECRET'])('names a too-short %s without echoing its value', (name) => {
      const message = refusal({ ...production, [name]: 'S3cr3t!' });
      expect(message).toContain(name);
      expect(message).not.toContain('S3cr3t!');
    });
  });

  describe('outside sandbox mode', () => {
    it('accepts a complete environment and uses exactly the given secrets', () => {
      const c = loadConfig(production);
      expect(c.sandbox.enabled).toBe(false);
      expect(c.auth).toMatchObject({ adminToken: production.ADMIN_TOKEN, vapiWebhookSecret: production.VAPI_WEBHOOK_SECRET, jwt: { kind: 'secret', secret: production.SUPABASE_JWT_SECRET } });
      expect(c.twilio).toEqual({ accountSid: SID, authToken: production.TWILIO_AUTH_TOKEN, apiBaseUrl: undefined, timeoutMs: 15_000 });
      expect(c.vapi).toEqual({ apiKey: production.VAPI_API_KEY, apiBaseUrl: 'https://api.vapi.ai' });
      expect(c.stripe).toMatchObject({ secretKey: production.STRIPE_SECRET_KEY, webhookSecret: production.STRIPE_WEBHOOK_SECRET, apiBaseUrl: undefined, webhookUrl: 'https://billing.example.com/api/stripe/webhook' });
    });

    it('refuses a TOPUP_MIN_AMOUNT above TOPUP_MAX_AMOUNT, naming it', () => {
      expect(refusal({ ...production, TOPUP_MIN_AMOUNT: '5000', TOPUP_MAX_AMOUNT: '1000' })).toMatch(/^TOPUP_MIN_AMOUNT /);
    });

    it.each(['TWILIO_AUTH_TOKEN', 'ADMIN_TOKEN', 'SUPABASE_JWT_SECRET', 'VAPI_WEBHOOK_SECRET', 'VAPI_API_KEY', 'PUBLIC_BASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'])(
      'refuses to start without %s, naming it',
      (name) => {
        const { [name]: _dropped, ...rest } = production;
        expect(refusal(rest)).toMatch(new RegExp(`^${name} is required`));
        // An empty value counts as missing, never as a secret.
        expect(refusal({ ...production, [name]: '' })).toMatch(new RegExp(`^${name} is required`));
      },
    );

    it('accepts a JWKS URL instead of the JWT secret', () => {
      const { SUPABASE_JWT_SECRET: _dropped, ...rest } = production;
      expect(loadConfig({ ...rest, SUPABASE_JWKS_URL: 'https://project.supabase.co/auth/v1/.well-known/jwks.json' }).auth.jwt).toEqual({
        kind: 'jwks',
        url: 'https://project.supabase.co/auth/v1/.well-known/jwks.json',
      });
    });

    it('refuses SUPABASE_URL without SUPABASE_SERVICE_ROLE_KEY, naming it', () => {
      expect(refusal({ ...production, SUPABASE_URL: 'https://project.supabase.co' })).toMatch(/^SUPABASE_SERVICE_ROLE_KEY is required/);
    });
  });

  describe('sandbox mode (no TWILIO_ACCOUNT_SID)', () => {
    it('applies the documented defaults and the development secrets', () => {
      const c = loadConfig({});
      expect(c.sandbox).toEqual({ enabled: true, host: '127.0.0.1', twilioPort: 4010, vapiPort: 4020, stripePort: 4030 });
      expect(c.stripe).toEqual({
        secretKey: SANDBOX_SECRETS.STRIPE_SECRET_KEY,
        webhookSecret: SANDBOX_SECRETS.STRIPE_WEBHOOK_SECRET,
        apiBaseUrl: 'http://127.0.0.1:4030',
        catchUp: { intervalMs: 300_000, windowSeconds: 259_200, settleSeconds: 60 },
        webhookUrl: 'http://127.0.0.1:3000/api/stripe/webhook',
        apiTimeoutMs: 10_000,
      });
      expect(c.topUps).toEqual({ minAmount: 500, maxAmount: 100_000 });
      expect(c.autoRecharge).toEqual({ cooldownSeconds: 60, retryMaxSeconds: 300 });
      expect(c.port).toBe(3000);
      expect(c.data).toEqual({ kind: 'postgres', databaseUrl: DEFAULT_DATABASE_URL });
      expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'bg' });
      expect(c.pricing).toEqual({ currency: 'gbp', phoneNumberPrice: 1000, phoneNumberMonthlyPrice: 1000, callMinBalance: 79, callRatePerMinute: 56 });
      expect(c.provisioning).toEqual({ maxAttempts: 5, backoffMs: 2000 });
      expect(c.callGate.failMode).toBe('closed');
      expect(c.auth.adminToken).toBe(SANDBOX_SECRETS.ADMIN_TOKEN);
      expect(c.auth.vapiWebhookSecret).toBe(SANDBOX_SECRETS.VAPI_WEBHOOK_SECRET);
      expect(c.auth.jwt).toEqual({ kind: 'secret', secret: SANDBOX_SECRETS.SUPABASE_JWT_SECRET });
      expect(c.twilio.apiBaseUrl).toBe('http://127.0.0.1:4010');
      expect(c.vapi.apiBaseUrl).toBe('http://127.0.0.1:4020');
    });

    it('reads REDIS_CLUSTER_NODES as the seed nodes of a Redis Cluster (REDIS_URL stays the single-node default)', () => {
      expect(loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:6379,redis-b.internal:7002' }).redis).toEqual({
        url: 'redis://127.0.0.1:6379',
        clusterNodes: [
          { host: '10.0.0.1', port: 6379 },
          { host: 'redis-b.internal', port: 7002 },
        ],
        keyPrefix: 'bg',
      });
      // Empty counts as unset, as for every setting.
      expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis.clusterNodes).toBeUndefined();
    });

    it('still prefers a secret that is set over the development one', () => {
      expect(loadConfig({ ADMIN_TOKEN: 'my-own-admin-token' }).auth.adminToken).toBe('my-own-admin-token');
    });

    it('reads each number setting as an integer', () => {
      const c = loadConfig({ PHONE_NUMBER_PRICE: '1250', CALL_MIN_BALANCE: '0', CALL_RATE_PER_MINUTE: '60', CALL_GATE_FAIL_MODE: 'open', PORT: '8080' });
      expect(c.pricing).toMatchObject({ phoneNumberPrice: 1250, callMinBalance: 0, callRatePerMinute: 60 });
      expect(c.callGate.failMode).toBe('open');
      expect(c.port).toBe(8080);
    });

    it('reads prices in other currencies, and refuses a second price for CURRENCY or a malformed list', () => {
      expect(loadConfig({ PHONE_NUMBER_PRICES: 'usd:1300,eur:1150', PHONE_NUMBER_MONTHLY_PRICES: 'usd:1300,eur:1150' }).pricing.phoneNumberPrices).toEqual({ usd: 1300, eur: 1150 });
      expect(refusal({ PHONE_NUMBER_PRICES: 'gbp:900' })).toMatch(/PHONE_NUMBER_PRICES: gbp is CURRENCY/);
      expect(refusal({ PHONE_NUMBER_PRICES: 'usd:1300,usd:1200' })).toMatch(/listed twice/);
      expect(refusal({ PHONE_NUMBER_PRICES: 'usd=1300' })).toMatch(/PHONE_NUMBER_PRICES/);
    });

    it('reads the monthly rent, its other currencies, the grace and the rent interval, and refuses a currency bought but never rented', () => {
      const c = loadConfig({});
      expect(c.rental).toEqual({ graceDays: 7, intervalMs: 3_600_000 });
      const priced = loadConfig({ PHONE_NUMBER_MONTHLY_PRICE: '900', PHONE_NUMBER_PRICES: 'usd:1300', PHONE_NUMBER_MONTHLY_PRICES: 'usd:1200,eur:1100', NUMBER_GRACE_DAYS: '3' });
      expect(priced.pricing).toMatchObject({ phoneNumberMonthlyPrice: 900, phoneNumberMonthlyPrices: { usd: 1200, eur: 1100 } });
      expect(priced.rental.graceDays).toBe(3);
      expect(refusal({ PHONE_NUMBER_PRICES: 'usd:1300,eur:1150', PHONE_NUMBER_MONTHLY_PRICES: 'usd:1300' })).toBe('PHONE_NUMBER_MONTHLY_PRICES must price every currency PHONE_NUMBER_PRICES prices (missing: eur)');
      expect(refusal({ PHONE_NUMBER_MONTHLY_PRICES: 'gbp:900' })).toMatch(/PHONE_NUMBER_MONTHLY_PRICES: gbp is CURRENCY, priced by PHONE_NUMBER_MONTHLY_PRICE/);
      expect(refusal({ PHONE_NUMBER_MONTHLY_PRICE: '0' })).toMatch(/^PHONE_NUMBER_MONTHLY_PRICE /);
      expect(refusal({ PHONE_NUMBER_MONTHLY_PRICE: '10.5' })).toMatch(/^PHONE_NUMBER_MONTHLY_PRICE must be a whole number/);
      expect(refusal({ NUMBER_GRACE_DAYS: '-1' })).toMatch(/^NUMBER_GRACE_DAYS /);
      expect(refusal({ NUMBER_GRACE_DAYS: '91' })).toMatch(/^NUMBER_GRACE_DAYS /);
      expect(refusal({ RENT_INTERVAL_MS: '86400001' })).toMatch(/^RENT_INTERVAL_MS /);
    });

    it('uses supabase-js when SUPABASE_URL is set and DATABASE_URL is not, and Postgres when both are', () => {
      const supa = { SUPABASE_URL: 'https://project.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'service-key' };
      expect(loadConfig(supa).data).toEqual({ kind: 'supabase', url: 'https://project.supabase.co', serviceRoleKey: 'service-key' });
      expect(loadConfig({ ...supa, DATABASE_URL: 'postgres://u@h:5432/db' }).data).toEqual({ kind: 'postgres', databaseUrl: 'postgres://u@h:5432/db' });
    });
  });
});
