// Test databases: one template per migration set (named by its checksum, migrated once), and a
// fresh copy of it per test file, so files run in parallel without sharing rows.
import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate, readMigrations } from '../../shared/db/migrate';

export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEMPLATE_LOCK = 72_410_734;

export function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function templateName(): Promise<string> {
  const migrations = await readMigrations();
  const hash = createHash('sha256');
  for (const m of migrations) hash.update(`${m.name}:${m.checksum}\n`);
  return `bg_tpl_${hash.digest('hex').slice(0, 16)}`;
}

async function withAdmin<T>(run: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

/** Creates and migrates the template for the current migrations unless it exists. */
export async function ensureTemplate(): Promise<string> {
  const name = await templateName();
  await withAdmin(async (c) => {
    await c.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const ready = await c.query("select 1 from pg_database where datname = $1 and datistemplate", [name]);
      if (ready.rowCount === 1) return;
      await c.query(`drop database if exists "${name}" with (force)`);
      await migrate(databaseUrl(name));
      await c.query(`alter database "${name}" with is_template true allow_connections false`);
    } finally {
      await c.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  return name;
}

export async function createTestDatabase(): Promise<string> {
  const template = await templateName();
  const name = `bg_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (c) => {
    // Concurrent copies of one template can collide ("being accessed by other users"): retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await c.query(`create database "${name}" template "${template}"`);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  });
  return name;
}

export async function dropTestDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`));
}
