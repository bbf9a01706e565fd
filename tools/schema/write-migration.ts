// `npm run db:migration -- <name>`: writes the migration that takes a database built from
// supabase/migrations to what supabase/schemas/ says now, for functions and their grants.
// Anything else that differs (a table, column, constraint, index, trigger, sequence, policy, a
// table's grants) holds data or is read by data: the command refuses, naming each object, and a
// migration for it is written by hand. Before writing, the generated SQL is applied to the
// migrated database and the two compared again, so a file it writes reproduces the schema.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { buildFromMigrations, buildFromSchemas, catalogOf, withClient } from './build-database';
import { describeDifference, diffCatalogs, type CatalogDifference, type CatalogEntry } from './catalog';
import { schemaFiles, SUPABASE_DIR } from './schema-files';

export class SchemaChangeRefused extends Error {
  override name = 'SchemaChangeRefused';
}

export interface MigrationPlan {
  sql: string; // empty when nothing changed
  functions: string[]; // the functions it creates, replaces or drops
}

const FUNCTION_KEY = /^function (([a-z_][a-z0-9_]*)\(.*\))$/;
const FUNCTION_GRANT_KEY = /^grant on function (([a-z_][a-z0-9_]*)\(.*\))$/;

/** The schema file that defines a function (its text, header prose included, is what a migration
 * creates it with). */
function functionSource(name: string, supabaseDir: string): string {
  const re = new RegExp(`^create (or replace )?function (public\\.)?${name}\\s*\\(`, 'im');
  const files = schemaFiles(supabaseDir).filter((f) => re.test(readFileSync(f, 'utf8')));
  if (files.length !== 1) {
    throw new SchemaChangeRefused(`function ${name} is defined in ${files.length} schema files; exactly one must define it`);
  }
  return readFileSync(files[0]!, 'utf8').trimEnd();
}

function grantsOf(acl: string | undefined, signature: string): string[] {
  const grantees = (acl ?? '')
    .split(' ')
    .filter((g) => g.endsWith(':EXECUTE'))
    .map((g) => g.slice(0, -':EXECUTE'.length))
    .filter((g) => g !== 'postgres');
  return [
    `revoke all on function ${signature} from public, anon, authenticated, service_role;`,
    ...grantees.map((g) => `grant execute on function ${signature} to ${g === 'PUBLIC' ? 'public' : g};`),
  ];
}

function returnsLine(definition: string | undefined): string | undefined {
  return definition?.split('\n').find((l) => /^\s*RETURNS /.test(l));
}

/** The SQL for the function differences, or a refusal naming every other difference. */
export function planFunctions(differences: CatalogDifference[], supabaseDir: string): MigrationPlan {
  const refused = differences.filter((d) => !FUNCTION_KEY.test(d.key) && !FUNCTION_GRANT_KEY.test(d.key));
  if (refused.length > 0) {
    throw new SchemaChangeRefused(
      'these changes hold or shape data, so their migration is written by hand (supabase/migrations/):\n' +
        refused.map((d) => `  ${describeDifference(d, 'migrations', 'schemas')}`).join('\n'),
    );
  }
  const drops: string[] = [];
  const creates: string[] = [];
  const touched = new Set<string>();
  for (const d of differences) {
    const m = FUNCTION_KEY.exec(d.key);
    if (!m) continue;
    const [, signature, name] = m as unknown as [string, string, string];
    touched.add(name);
    // Gone from the schema, or its return type changed (create or replace cannot change it).
    if (d.actual === undefined || (d.expected !== undefined && returnsLine(d.expected) !== returnsLine(d.actual))) {
      drops.push(`drop function ${signature};`);
    }
    if (d.actual !== undefined && !creates.some((c) => c.startsWith(`-- ${name}\n`))) {
      creates.push(`-- ${name}\n${functionSource(name, supabaseDir)}`);
    }
  }
  const sql = [...drops, ...creates.map((c) => c.replace(/^-- [a-z0-9_]+\n/, ''))].join('\n\n');
  return { sql, functions: [...touched].sort() };
}

async function applyInTransaction(url: string, sql: string): Promise<void> {
  await withClient(url, async (c: Client) => {
    await c.query('begin');
    try {
      await c.query(sql);
      await c.query('commit');
    } catch (err) {
      await c.query('rollback');
      throw err;
    }
  });
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The migration SQL from the migrations to the schema (empty when they agree), proven by applying
 * it to a database built from the migrations and comparing again. */
export async function generateMigration(adminUrl: string, supabaseDir = SUPABASE_DIR): Promise<MigrationPlan> {
  const tag = randomBytes(5).toString('hex');
  const fromMigrations = `bg_dbm_m_${tag}`;
  const fromSchemas = `bg_dbm_s_${tag}`;
  try {
    await buildFromMigrations(databaseUrl(adminUrl, fromMigrations), supabaseDir);
    await buildFromSchemas(databaseUrl(adminUrl, fromSchemas), supabaseDir);
    const target: CatalogEntry[] = await catalogOf(databaseUrl(adminUrl, fromSchemas));
    const before = diffCatalogs(await catalogOf(databaseUrl(adminUrl, fromMigrations)), target);
    if (before.length === 0) return { sql: '', functions: [] };
    const plan = planFunctions(before, supabaseDir);
    if (plan.sql) await applyInTransaction(databaseUrl(adminUrl, fromMigrations), plan.sql);
    // A new or re-created function starts with the default privileges: set its grants as the
    // schema's grants file does.
    const aclFixes = diffCatalogs(await catalogOf(databaseUrl(adminUrl, fromMigrations)), target).flatMap((d) => {
      const g = FUNCTION_GRANT_KEY.exec(d.key);
      return g ? grantsOf(d.actual, g[1]!) : [];
    });
    if (aclFixes.length > 0) await applyInTransaction(databaseUrl(adminUrl, fromMigrations), aclFixes.join('\n'));
    const after = diffCatalogs(await catalogOf(databaseUrl(adminUrl, fromMigrations)), target);
    if (after.length > 0) {
      throw new SchemaChangeRefused(
        `the generated migration does not reproduce the schema: ${describeDifference(after[0]!, 'migrated', 'schemas')}`,
      );
    }
    return { sql: [plan.sql, aclFixes.join('\n')].filter(Boolean).join('\n\n'), functions: plan.functions };
  } finally {
    await dropDatabase(adminUrl, fromMigrations);
    await dropDatabase(adminUrl, fromSchemas);
  }
}

/** Next migration name: UTC time as the existing files spell it, after the last of them. */
export function nextMigrationFile(migrationsDir: string, name: string, now = new Date()): string {
  if (!/^[a-z0-9_]{1,60}$/.test(name)) throw new SchemaChangeRefused(`migration name "${name}": use a-z, 0-9 and _`);
  let stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const last = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort().pop()?.slice(0, 14);
  if (last !== undefined && stamp <= last) stamp = String(BigInt(last) + 100n);
  return path.join(migrationsDir, `${stamp}_${name}.sql`);
}

export async function writeMigration(adminUrl: string, name: string, supabaseDir = SUPABASE_DIR): Promise<string | null> {
  const file = nextMigrationFile(path.join(supabaseDir, 'migrations'), name);
  const plan = await generateMigration(adminUrl, supabaseDir);
  if (!plan.sql) return null;
  const header = [
    `-- ${name}: written by \`npm run db:migration\` from supabase/schemas/ (the current definitions and`,
    `-- their reasons live there). Functions: ${plan.functions.join(', ')}.`,
  ].join('\n');
  writeFileSync(file, `${header}\n\n${plan.sql}\n`);
  return file;
}

if (require.main === module) {
  const name = process.argv[2];
  const adminUrl = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!name) {
    console.error('usage: npm run db:migration -- <name>   (a-z, 0-9 and _)');
    process.exit(2);
  }
  writeMigration(adminUrl, name).then(
    (file) => {
      console.log(file ? `wrote ${path.relative(process.cwd(), file)}` : 'supabase/schemas/ and the migrations agree: nothing to write');
    },
    (err: Error) => {
      console.error(err instanceof SchemaChangeRefused ? `refused: ${err.message}` : err.stack ?? err.message);
      process.exit(1);
    },
  );
}
