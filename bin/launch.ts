// Entry point for npm start / start:api / start:workers / sandbox / migrate, and for the one-shot
// `migrate-redis` (the previous release's Redis keys into this layout: shared/migrate-key-layout.ts).
// A bad setting stops the process here with one line naming it, never a stack trace.
import { createMetricsApp } from '../api/metrics-app';
import { createHttpHandler } from '../api/webhook-fast-lane';
import { startServer, type RunningServer } from '../api/server';
import { startWorkers, type RunningWorkers } from '../workers/main';
import { ConfigError, loadConfig, type Config } from '../shared/config';
import { migrate } from '../shared/db/migrate';
import { migrateRedisKeyLayout } from '../shared/migrate-key-layout';
import { DEMO_ORG_ID, renderBanner } from './banner';
import { createLogger, redactUrl } from '../shared/logger';
import { startSandbox, type RunningSandbox } from '../sandbox/start-sandbox';
import { createServices, type Services } from '../shared/process/services';
import { waitForRedis } from '../shared/redis';

/** How long start waits for Redis before going on degraded (/readyz says 503 until it answers). */
const REDIS_START_WAIT_MS = 5000;

type Role = 'all' | 'api' | 'workers' | 'sandbox' | 'migrate' | 'migrate-redis';
const ROLES: readonly Role[] = ['all', 'api', 'workers', 'sandbox', 'migrate', 'migrate-redis'];

function fail(message: string): never {
  process.stderr.write(`billing-gates: ${message}\n`);
  process.exit(1);
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(`configuration error: ${err.message}`);
    throw err;
  }
}

async function applyMigrations(config: Config, services?: Services): Promise<void> {
  if (config.data.kind !== 'postgres') {
    services?.log.info('SUPABASE_URL mode: migrations are applied with the Supabase CLI, not at start');
    return;
  }
  try {
    const applied = await migrate(config.data.databaseUrl);
    if (applied.length > 0) process.stdout.write(`billing-gates: applied migrations ${applied.join(', ')}\n`);
  } catch (err) {
    fail(`cannot migrate the database: ${(err as Error).message}`);
  }
}

/** Exits non-zero unless every queue and the due set moved (its log lines say what did not). */
async function migrateRedisKeys(config: Config): Promise<void> {
  let complete: boolean;
  try {
    complete = (await migrateRedisKeyLayout(config, createLogger(config.logLevel))).complete;
  } catch (err) {
    fail(`cannot migrate the Redis keys: ${(err as Error).message}`);
  }
  if (!complete) fail('migrate-redis: pending work is left in the old Redis key layout; run it again once the old workers are stopped');
}

/**
 * Sandbox mode only: the demo organisation of the banner's token and billing-page link exists (with
 * an empty wallet), so the printed link works at once. Idempotent; several processes may race.
 */
async function ensureDemoOrg(services: Services): Promise<void> {
  try {
    await services.store.createOrg({ name: 'Demo', orgId: DEMO_ORG_ID, currency: services.config.pricing.currency });
  } catch (err) {
    services.log.warn({ err: (err as Error).message }, 'could not create the demo organisation; the billing-page link will say it has no wallet');
  }
}

async function main(): Promise<void> {
  const role = process.argv[2] as Role;
  if (!ROLES.includes(role)) fail(`usage: launch.ts ${ROLES.join('|')}`);
  const config = readConfig();

  if (role === 'migrate') {
    await applyMigrations(config);
    return;
  }
  if (role === 'migrate-redis') {
    await migrateRedisKeys(config);
    return;
  }
  // The simulators alone, for API and workers running as separate processes (CONTRACT §6).
  if (role === 'sandbox') {
    const sandbox = await startSandbox(config, createLogger(config.logLevel));
    const stopSandbox = () => void sandbox.close().then(() => process.exit(0));
    process.on('SIGTERM', stopSandbox);
    process.on('SIGINT', stopSandbox);
    return;
  }
  await applyMigrations(config);

  const services = createServices(config);
  await waitForRedis(services.redis, REDIS_START_WAIT_MS).catch(() =>
    services.log.warn(
      { redis: config.redis.clusterNodes === undefined ? redactUrl(config.redis.url) : `cluster ${config.redis.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}` },
      'Redis is not answering yet; starting degraded',
    ),
  );
  let server: RunningServer | undefined;
  let workers: RunningWorkers | undefined;
  let sandbox: RunningSandbox | undefined;
  // npm start with no TWILIO_ACCOUNT_SID: simulators in-process, announced loudly.
  if (role === 'all' && config.sandbox.enabled) sandbox = await startSandbox(config, services.log);
  if (role === 'all' || role === 'workers') workers = await startWorkers(services);
  // Workers alone: their counters are scraped from them (with the API in the same process, the
  // API's /metrics already shows them: one registry).
  if (role === 'workers') {
    server = await startServer(createMetricsApp(services), config.workersMetricsPort);
    services.log.info({ port: server.port }, `workers metrics on http://127.0.0.1:${server.port}/metrics`);
  }
  if (role === 'all' || role === 'api') {
    if (config.sandbox.enabled) await ensureDemoOrg(services);
    server = await startServer(createHttpHandler(services), config.port);
    services.log.info({ port: server.port }, `API listening on http://127.0.0.1:${server.port}`);
    process.stdout.write(await renderBanner(config, { apiPort: server.port, simulators: role === 'all' && config.sandbox.enabled }));
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    services.log.info({ signal }, 'shutting down');
    const deadline = config.limits.shutdownDeadlineMs;
    const hardStop = setTimeout(() => {
      services.log.error({ deadline }, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, deadline * 2);
    hardStop.unref();
    // Order: stop HTTP, then workers, then connections.
    await server?.close(deadline);
    await workers?.close(deadline);
    await services.close();
    await sandbox?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => fail((err as Error).message));
