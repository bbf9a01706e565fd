// supabase/schemas/ is where every database object is read; the migrations are what is deployed.
// These prove the two say the same: one database is built from each and their catalogues compared
// (functions by name, arguments and body; columns, constraints, indexes, triggers, sequences,
// grants, default privileges, row level security, policies), naming the first object that differs.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFromSchemas, catalogOf } from '../../tools/schema/build-database';
import { describeDifference, diffCatalogs } from '../../tools/schema/catalog';
import { schemaFiles, SUPABASE_DIR } from '../../tools/schema/schema-files';
import { createTestDatabase, databaseUrl, dropTestDatabase } from '../support/databases';

describe('declarative schema (supabase/schemas/) against the migrations', () => {
  const created: string[] = [];
  const tmp: string[] = [];
  afterAll(async () => {
    for (const name of created) await dropTestDatabase(name);
    for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
  });

  async function schemaDatabase(supabaseDir = SUPABASE_DIR): Promise<string> {
    const name = `bg_s_${Math.random().toString(16).slice(2, 12)}`;
    created.push(name);
    await buildFromSchemas(databaseUrl(name), supabaseDir);
    return databaseUrl(name);
  }

  let migrated: string;
  beforeAll(async () => {
    const name = await createTestDatabase(); // a copy of the template the migrations built
    created.push(name);
    migrated = databaseUrl(name);
  });

  function firstDifference(a: Awaited<ReturnType<typeof catalogOf>>, b: Awaited<ReturnType<typeof catalogOf>>): string | null {
    const d = diffCatalogs(a, b)[0];
    return d ? describeDifference(d, 'migrations', 'schemas') : null;
  }

  it('builds the same database as the migrations', async () => {
    const fromMigrations = await catalogOf(migrated);
    const fromSchemas = await catalogOf(await schemaDatabase());
    expect(firstDifference(fromMigrations, fromSchemas)).toBeNull();
    // The comparison saw the whole schema, not an empty one.
    const kinds = new Set(fromMigrations.map((e) => e.key.split(' ')[0]));
    expect([...kinds].sort()).toEqual(['column', 'constraint', 'default', 'function', 'grant', 'index', 'sequence', 'table', 'trigger']);
    expect(fromMigrations.filter((e) => e.key.startsWith('function ')).length).toBeGreaterThan(90);
  });

  it('has exactly one file per function, named after it, in a domain folder', async () => {
    const functions = (await catalogOf(migrated)).filter((e) => e.key.startsWith('function ')).map((e) => e.key.slice('function '.length).split('(')[0]!);
    const files = schemaFiles();
    const definers = (name: string) =>
      files.filter((f) => new RegExp(`^create (or replace )?function (public\\.)?${name}\\s*\\(`, 'im').test(readFileSync(f, 'utf8')));
    const wrong = functions
      .map((name) => ({ name, files: definers(name).map((f) => path.relative(SUPABASE_DIR, f)) }))
      .filter(({ name, files: found }) => found.length !== 1 || !new RegExp(`^schemas/[a-z-]+/functions/${name}\\.sql$`).test(found[0]!));
    expect(wrong).toEqual([]);
  });

  it('names the function whose schema file lost a line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bg-schemas-'));
    tmp.push(dir);
    cpSync(SUPABASE_DIR, dir, { recursive: true });
    const file = path.join(dir, 'schemas/ledger/functions/wallet_get.sql');
    const lines = readFileSync(file, 'utf8').split('\n');
    const body = lines.findIndex((l) => l.startsWith('AS $function$'));
    lines.splice(body + 1, 1);
    writeFileSync(file, lines.join('\n'));
    const difference = firstDifference(await catalogOf(migrated), await catalogOf(await schemaDatabase(dir)));
    expect(difference).toMatch(/^function wallet_get\(uuid\): differs at line/);
  });

  it('names the table whose column lost its constraint, and a grant taken away', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bg-schemas-'));
    tmp.push(dir);
    cpSync(SUPABASE_DIR, dir, { recursive: true });
    const wallets = path.join(dir, 'schemas/ledger/tables/wallets.sql');
    writeFileSync(wallets, readFileSync(wallets, 'utf8').replace(/^\s*CONSTRAINT wallets_debt_limit_check .*\n/m, ''));
    const grants = path.join(dir, 'schemas/access/grants.sql');
    const g = readFileSync(grants, 'utf8');
    const at = g.indexOf('grant execute on function');
    writeFileSync(grants, g.slice(0, at) + g.slice(at).replace(/^\s+wallet_get\(uuid\),\n/m, ''));
    const all = diffCatalogs(await catalogOf(migrated), await catalogOf(await schemaDatabase(dir))).map((d) => d.key);
    expect(all).toEqual(['constraint wallets.wallets_debt_limit_check', 'grant on function wallet_get(uuid)']);
  });
});
