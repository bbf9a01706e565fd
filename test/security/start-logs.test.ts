// Proves the start-up logs keep connection strings' passwords out: the real entry point started
// with Redis down (a closed port) and a password in REDIS_URL and DATABASE_URL logs where Redis
// is, without the password.
import { redactUrl } from '../../shared/logger';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';
import { freePort } from '../support/redis-server';
import { launchService } from '../support/service-processes';

jest.setTimeout(60_000);
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
    const api = launchService('api', {
      DATABASE_URL: databaseUrl(db),
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redisPort}`,
      PORT: String(apiPort),
      LOG_LEVEL: 'info',
    });
    try {
      await api.waitForOutput('API listening', 45_000);
    } finally {
      await api.stop();
      await dropTestDatabase(db);
    }
    expect(api.output()).toContain('Redis is not answering yet');
    expect(api.output()).toContain(`127.0.0.1:${redisPort}`);
    expect(api.output()).not.toContain(PASSWORD);
  });
});
