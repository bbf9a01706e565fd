// A test world in supabase mode: the same isolated database and Redis prefix as createTestContext,
// but the configuration has SUPABASE_URL (the PostgREST stand-in) and no DATABASE_URL, so the
// Services build the supabase-js adapter exactly as a process configured that way would.
import type { RequestListener } from 'node:http';
import type { Pool } from 'pg';
import { createHttpHandler } from '../../api/webhook-fast-lane';
import { loadConfig, type Config } from '../../shared/config';
import { createPool } from '../../shared/db/pool';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { createServices, type Services } from '../../shared/process/services';
import { createRedis } from '../../shared/redis';
import { TEST_JWT_SECRET, testEnv } from './context';
import { createTestDatabase, databaseUrl, dropTestDatabase } from './databases';
import { startPostgrestServer, type PostgrestServer } from './postgrest-server';
import { deleteByPrefix, uniquePrefix } from './redis';

export interface SupabaseTestContext {
  config: Config;
  services: Services;
  server: PostgrestServer;
  /** A direct pool on the same database, for assertions only. */
  pool: Pool;
  /** The API as the server runs it: the webhook's fast lane in front of the express app. */
  app(): RequestListener;
  close(): Promise<void>;
}

export async function createSupabaseTestContext(env: Record<string, string> = {}): Promise<SupabaseTestContext> {
  const dbName = await createTestDatabase();
  const url = databaseUrl(dbName);
  const server = await startPostgrestServer({ databaseUrl: url, jwtSecret: TEST_JWT_SECRET });
  const prefix = uniquePrefix('sb');
  const { DATABASE_URL: _unused, ...base } = testEnv(url, prefix, env);
  const config = loadConfig({ ...base, SUPABASE_URL: server.url, SUPABASE_SERVICE_ROLE_KEY: server.keys.serviceRole });
  const services = createServices(config, {
    log: createLogger(config.logLevel),
    metrics: createMetrics(),
    redis: createRedis(config.redis, 'fail-fast', 'test'),
  });
  const pool = createPool(url, { max: 2 });
  let app: RequestListener | undefined;
  return {
    config,
    services,
    server,
    pool,
    app: () => (app ??= createHttpHandler(services)),
    async close() {
      await deleteByPrefix(services.redis, prefix).catch(() => undefined);
      await services.close();
      await pool.end();
      await server.close();
      await dropTestDatabase(dbName);
    },
  };
}
