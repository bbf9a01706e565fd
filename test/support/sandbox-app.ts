// `npm start` in sandbox mode as a real process (bin/launch.ts all, no TWILIO_ACCOUNT_SID), with
// its own database, Redis key prefix and free ports, as a person would start it. The banner it
// prints is the source of the billing-page link the browser tests open.
import { createPool } from '../../shared/db/pool';
import { createRedis } from '../../shared/redis';
import { SANDBOX_SECRETS } from '../../shared/config';
import { createTestDatabase, databaseUrl, dropTestDatabase } from './databases';
import { ledgerViolations } from './invariants';
import { deleteByPrefix, TEST_REDIS, testRedisEnv, uniquePrefix } from './redis';
import { freePort } from './redis-server';
import { launchService, type ServiceProcess } from './service-processes';

const START_LIMIT_MS = 45_000;

export interface SandboxApp {
  /** http://127.0.0.1:<port> */
  api: string;
  /** The billing-page link the banner printed, token in the fragment. */
  billingLink: string;
  /** The demo organisation's dashboard token (from the link). */
  token: string;
  ports: { api: number; twilio: number; vapi: number; stripe: number };
  /** The process's own database (a fresh copy of the template), for fixtures and assertions. */
  databaseUrl: string;
  process: ServiceProcess;
  /** Operator credit (for walks that do not go through Stripe's checkout). */
  credit(orgId: string, amount: number, key: string): Promise<Response>;
  ledgerViolations(): Promise<unknown[]>;
  stop(): Promise<void>;
}

export async function startSandboxApp(label: string, extraEnv: Record<string, string> = {}): Promise<SandboxApp> {
  const db = await createTestDatabase();
  const prefix = uniquePrefix(label);
  const ports = { api: await freePort(), twilio: await freePort(), vapi: await freePort(), stripe: await freePort() };
  const child = launchService('all', {
    DATABASE_URL: databaseUrl(db),
    ...testRedisEnv(),
    REDIS_KEY_PREFIX: prefix,
    PORT: String(ports.api),
    SANDBOX_TWILIO_PORT: String(ports.twilio),
    SANDBOX_VAPI_PORT: String(ports.vapi),
    // The Stripe simulator's port (CONTRACT §6).
    SANDBOX_STRIPE_PORT: String(ports.stripe),
    PROVISION_BACKOFF_MS: '50',
    LOG_LEVEL: 'info',
    ...extraEnv,
  });
  const cleanup = async () => {
    await child.stop();
    await dropTestDatabase(db);
    const redis = createRedis(TEST_REDIS, 'blocking', 'cleanup');
    await deleteByPrefix(redis, prefix).finally(() => redis.quit());
  };
  let billingLink: string;
  try {
    await child.waitForOutput('npm run test:billing-gates', START_LIMIT_MS);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/billing#access_token=[A-Za-z0-9._-]+)/.exec(child.output())?.[1];
    if (link === undefined) throw new Error(`the banner printed no billing-page link:\n${child.output()}`);
    billingLink = link;
  } catch (err) {
    await cleanup();
    throw err;
  }
  const api = `http://127.0.0.1:${ports.api}`;
  return {
    api,
    billingLink,
    token: billingLink.slice(billingLink.indexOf('#access_token=') + '#access_token='.length),
    ports,
    databaseUrl: databaseUrl(db),
    process: child,
    credit: (orgId, amount, key) =>
      fetch(`${api}/api/admin/orgs/${orgId}/credits`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SANDBOX_SECRETS.ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ amount, reason: 'browser test credit' }),
      }),
    async ledgerViolations() {
      const pool = createPool(databaseUrl(db), { max: 1 });
      try {
        return await ledgerViolations(pool);
      } finally {
        await pool.end();
      }
    },
    stop: cleanup,
  };
}
