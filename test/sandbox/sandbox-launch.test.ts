// Proves sandbox mode through the real entry point, as separate processes: `npm run sandbox`
// (launch.ts sandbox) starts both simulators on the configured ports, announces loudly that no
// real number is bought, answers like Twilio and Vapi, keeps state and stops on SIGTERM; and
// `npm start` with no TWILIO_ACCOUNT_SID (launch.ts all) prints its development secrets and
// provisions a number end to end from its in-process simulators. The money test ends with the
// ledger invariants.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { SANDBOX_SECRETS } from '../../shared/config';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { eventually } from '../support/eventually';
import { dashboardToken } from '../support/jwt';
import { ledgerViolations } from '../support/invariants';
import { createPool } from '../../shared/db/pool';
import { deleteByPrefix, TEST_REDIS, testRedisEnv, uniquePrefix } from '../support/redis';
import { createRedis } from '../../shared/redis';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');
const port = () => 20_000 + Math.floor(Math.random() * 20_000);

describe('sandbox role', () => {
  it('serves stateful Twilio and Vapi simulators and says no real number is bought', async () => {
    const twilioPort = port();
    const vapiPort = twilioPort + 1;
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/launch.ts', 'sandbox'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SANDBOX_TWILIO_PORT: String(twilioPort), SANDBOX_VAPI_PORT: String(vapiPort), LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 45_000);
        const onData = (c: Buffer) => {
          out += c.toString();
          if (out.includes(`127.0.0.1:${vapiPort}`)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      expect(out).toContain('NO REAL NUMBER IS BOUGHT');
      const sid = SANDBOX_SECRETS.TWILIO_ACCOUNT_SID;
      const auth = { authorization: `Basic ${Buffer.from(`${sid}:token`).toString('base64')}` };
      const base = `http://127.0.0.1:${twilioPort}/2010-04-01/Accounts/${sid}`;
      const bought = await fetch(`${base}/IncomingPhoneNumbers.json`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ PhoneNumber: '+14155550999', FriendlyName: 'launch-test' }).toString(),
      });
      expect(bought.status).toBe(201);
      const listed = (await (await fetch(`${base}/IncomingPhoneNumbers.json?FriendlyName=launch-test`, { headers: auth })).json()) as { incoming_phone_numbers: unknown[] };
      expect(listed.incoming_phone_numbers).toHaveLength(1);
      const vapi = await fetch(`http://127.0.0.1:${vapiPort}/phone-number`, { headers: { authorization: 'Bearer any' } });
      expect(vapi.status).toBe(200);
      expect(await vapi.json()).toEqual([]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

describe('npm start in sandbox mode (launch.ts all, no TWILIO_ACCOUNT_SID)', () => {
  it('prints its development secrets and provisions a number end to end from the in-process simulators', async () => {
    const db = await createTestDatabase();
    const prefix = uniquePrefix('start');
    const apiPort = port();
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/launch.ts', 'all'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: databaseUrl(db),
        ...testRedisEnv(),
        REDIS_KEY_PREFIX: prefix,
        PORT: String(apiPort),
        SANDBOX_TWILIO_PORT: String(apiPort + 1),
        SANDBOX_VAPI_PORT: String(apiPort + 2),
        PROVISION_BACKOFF_MS: '50',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 45_000);
        const onData = (c: Buffer) => {
          out += c.toString();
          if (out.includes('API listening')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      expect(out).toContain('NO REAL NUMBER IS BOUGHT');
      expect(out).toContain(`sandbox development secret ADMIN_TOKEN=${SANDBOX_SECRETS.ADMIN_TOKEN}`);
      expect(out).toContain(`sandbox development secret SUPABASE_JWT_SECRET=${SANDBOX_SECRETS.SUPABASE_JWT_SECRET}`);

      const api = `http://127.0.0.1:${apiPort}`;
      const admin = { authorization: `Bearer ${SANDBOX_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json' };
      const org = (await (await fetch(`${api}/api/admin/orgs`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Sandbox Ltd' }) })).json()) as { orgId: string };
      const credit = await fetch(`${api}/api/admin/orgs/${org.orgId}/credits`, { method: 'POST', headers: { ...admin, 'idempotency-key': 'start-1' }, body: JSON.stringify({ amount: 1500, reason: 'sandbox' }) });
      expect(credit.status).toBe(201);
      const user = { authorization: `Bearer ${await dashboardToken(SANDBOX_SECRETS.SUPABASE_JWT_SECRET, org.orgId)}`, 'content-type': 'application/json' };
      const accepted = await fetch(`${api}/api/managed-telephony/provision`, { method: 'POST', headers: { ...user, 'idempotency-key': 'start-provision' }, body: JSON.stringify({ areaCode: '415' }) });
      expect(accepted.status).toBe(202);
      const { statusUrl } = (await accepted.json()) as { statusUrl: string };
      let body: { status?: string; phoneNumber?: string } = {};
      await eventually(
        async () => {
          body = (await (await fetch(`${api}${statusUrl}`, { headers: user })).json()) as typeof body;
          return body.status === 'completed' || body.status === 'refunded';
        },
        { what: () => `the request final (last ${JSON.stringify(body)})`, timeoutMs: 30_000, everyMs: 50 },
      );
      expect(body).toMatchObject({ status: 'completed', phoneNumber: expect.stringMatching(/^\+1415/) });
      const sid = SANDBOX_SECRETS.TWILIO_ACCOUNT_SID;
      const listed = (await (await fetch(`http://127.0.0.1:${apiPort + 1}/2010-04-01/Accounts/${sid}/IncomingPhoneNumbers.json`, { headers: { authorization: 'Basic eDp5' } })).json()) as { incoming_phone_numbers: Array<{ phone_number: string }> };
      expect(listed.incoming_phone_numbers.map((n) => n.phone_number)).toEqual([body.phoneNumber]);
      const wallet = (await (await fetch(`${api}/api/wallet`, { headers: user })).json()) as { balance: number };
      expect(wallet.balance).toBe(500);
      const pool = createPool(databaseUrl(db), { max: 1 });
      try {
        expect(await ledgerViolations(pool)).toEqual([]);
      } finally {
        await pool.end();
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
      await dropTestDatabase(db);
      const redis = createRedis(TEST_REDIS, 'blocking', 'cleanup');
      await deleteByPrefix(redis, prefix).finally(() => redis.quit());
    }
    expect(await exited).toBe(0);
  });
});
