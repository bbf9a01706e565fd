// Builds databases to compare: one from the declarative schema, one from the migrations.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ensureDatabase, migrate } from '../../shared/db/migrate';
import { readCatalog, type CatalogEntry } from './catalog';
import { schemaFiles, SUPABASE_DIR } from './schema-files';

export async function withClient<T>(databaseUrl: string, run: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

/** Loads every schema file, in config.toml's order, into a new empty database, in one transaction.
 * Function bodies are not checked at creation (as pg_dump restores do): a SQL function may name a
 * function whose file loads later. */
export async function buildFromSchemas(databaseUrl: string, supabaseDir = SUPABASE_DIR): Promise<void> {
  await ensureDatabase(databaseUrl);
  await withClient(databaseUrl, async (c) => {
    await c.query('begin');
    await c.query('set local check_function_bodies = off');
    for (const file of schemaFiles(supabaseDir)) {
      try {
        await c.query(readFileSync(file, 'utf8'));
      } catch (err) {
        await c.query('rollback');
        throw new Error(`${path.relative(supabaseDir, file)}: ${(err as Error).message}`);
      }
    }
    await c.query('commit');
  });
}

export async function buildFromMigrations(databaseUrl: string, supabaseDir = SUPABASE_DIR): Promise<void> {
  await migrate(databaseUrl, path.join(supabaseDir, 'migrations'));
}

export async function catalogOf(databaseUrl: string): Promise<CatalogEntry[]> {
  return withClient(databaseUrl, readCatalog);
}
