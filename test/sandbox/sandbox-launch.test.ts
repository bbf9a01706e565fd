// Proves `npm run sandbox` (launch.ts sandbox) starts both simulators on the configured ports,
// announces loudly that no real number is bought, answers like Twilio and Vapi, keeps state
// between requests, and stops on SIGTERM. Runs the real entry point as a separate process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { SANDBOX_SECRETS } from '../../shared/config';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');
const port = () => 20_000 + Math.floor(Math.random() * 20_000);

describe('sandbox role', () => {
  it('serves stateful Twilio and Vapi simulators and says no real number is bought', async () => {
    const twilioPort = port();
    const vapiPort = twilioPort + 1;
    const child = spawn(process.execPath, ['--import', 'tsx', 'shared/process/launch.ts', 'sandbox'], {
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
