// Proves the start-up logs keep connection strings' passwords out: the real entry point started
// with Redis down (a closed port) and a password in REDIS_URL and DATABASE_URL logs where Redis
// is, without the password.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { redactUrl } from '../../shared/logger';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { freePort } from '../support/redis-server';

jest.setTimeout(60_000);
const ROOT = path.resolve(__dirname, '../..');
const PASSWORD = 'redis-pass-7f3e9a1c';

describe('connection strings in logs', () => {
  it('redacts the password of a URL and keeps where it points', () => {
    expect(redactUrl(`redis://:${PASSWORD}@cache.internal:6380/2`)).toBe('redis://:%5Bredacted%5D@cache.internal:6380/2');
    expect(redactUrl(`postgres://app:${PASSWORD}@db:5432/x`)).not.toContain(PASSWORD);
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl(`not a url ${PASSWORD}`)).toBe('[unparseable url]');
  });

  it('starts degraded with Redis down and never prints the Redis password', async () => {
    const db = await createTestDatabase();
    const [apiPort, redisPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/launch.ts', 'api'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: databaseUrl(db),
        REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redisPort}`,
        PORT: String(apiPort),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
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
    } finally {
      child.kill('SIGTERM');
      await exited;
      await dropTestDatabase(db);
    }
    expect(out).toContain('Redis is not answering yet');
    expect(out).toContain(`127.0.0.1:${redisPort}`);
    expect(out).not.toContain(PASSWORD);
  });
});
