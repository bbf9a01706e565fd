// Proves the migration runner: it creates a missing database, applies each migration once even
// when several processes start at the same moment (session-level advisory lock), and refuses to
// start when an applied migration file has changed.
import { mkdtemp, readdir, copyFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrate, MIGRATIONS_DIR, MigrationChecksumError } from '../../shared/db/migrate';
import { databaseUrl, dropTestDatabase } from '../support/databases';
import { randomBytes } from 'node:crypto';

describe('migration runner', () => {
  const created: string[] = [];
  const freshName = () => {
    const name = `bg_m_${randomBytes(5).toString('hex')}`;
    created.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of created) await dropTestDatabase(name);
  });

  async function appliedNames(url: string): Promise<string[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<{ name: string }>('select name from schema_migrations order by name')).rows.map((r) => r.name);
    } finally {
      await c.end();
    }
  }

  it('creates the database and applies every migration once when five processes start at once', async () => {
    const url = databaseUrl(freshName());
    const runs = await Promise.all(Array.from({ length: 5 }, () => migrate(url)));
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    // Exactly one run applied everything; the others found nothing left to do.
    expect(runs.filter((r) => r.length > 0)).toEqual([files]);
    expect(await appliedNames(url)).toEqual(files);
    expect(await migrate(url)).toEqual([]);
  });

  it('refuses to start when an applied migration has changed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bg-migrations-'));
    for (const f of await readdir(MIGRATIONS_DIR)) await copyFile(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
    const url = databaseUrl(freshName());
    await migrate(url, dir);
    const first = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()[0]!;
    await appendFile(path.join(dir, first), '\n-- edited after it was applied\n');
    await expect(migrate(url, dir)).rejects.toThrow(MigrationChecksumError);
  });

  it('gives every migration a version of its own (the timestamp the Supabase CLI keys applied migrations on)', async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql'));
    const versions = files.map((f) => f.split('_')[0]);
    expect(versions.every((v) => /^\d{14}$/.test(v ?? ''))).toBe(true);
    expect(versions.filter((v, i) => versions.indexOf(v) !== i)).toEqual([]);
  });
});
