// Proves what an operator sees when a setting is wrong: the real entry point
// (`tsx bin/launch.ts api`, as `npm run start:api` runs it) exits non-zero before
// touching Postgres or Redis, with exactly one line on stderr that names the variable, and no
// stack trace (test/support/launch-role.ts runs it).
import { launchRole } from '../support/launch-role';

const START_LIMIT_MS = 20_000;
const SID = 'AC0123456789abcdef0123456789abcdef';

const launch = (env: Record<string, string>) => launchRole('api', env, START_LIMIT_MS);

describe('starting the API with a bad setting', () => {
  it.each([
    ['PHONE_NUMBER_PRICE', { PHONE_NUMBER_PRICE: 'abc' }],
    ['CALL_GATE_FAIL_MODE', { CALL_GATE_FAIL_MODE: 'maybe' }],
    ['PORT', { PORT: '0' }],
    ['ADMIN_TOKEN', { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'twilio-token', SUPABASE_JWT_SECRET: 'jwt-secret-0123456789', VAPI_WEBHOOK_SECRET: 'vapi-secret-123', VAPI_API_KEY: 'vapi-key', PUBLIC_BASE_URL: 'https://x.example.com' }],
  ])('exits non-zero with one line naming %s', async (name, env) => {
    const { code, stdout, stderr } = await launch(env);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
    expect(lines[0]).toMatch(/^billing-gates: configuration error: /);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  });
});
