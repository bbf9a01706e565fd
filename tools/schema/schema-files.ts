// Which files make up the declarative schema, in the order they load: supabase/config.toml's
// [db.migrations] schema_paths, as the Supabase CLI reads it (globs expanded in name order, a file
// named twice loaded once, where first named).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const SUPABASE_DIR = path.resolve(__dirname, '../../supabase');

/** schema_paths from config.toml. The file is ours and this one key is a flat array of strings, so
 * a regular expression reads it; a TOML parser would be one more dependency for one line. */
export function schemaPaths(supabaseDir = SUPABASE_DIR): string[] {
  const toml = readFileSync(path.join(supabaseDir, 'config.toml'), 'utf8');
  const section = /\[db\.migrations\][^[]*?schema_paths\s*=\s*\[([^\]]*)\]/s.exec(toml);
  if (!section) throw new Error(`${path.join(supabaseDir, 'config.toml')} has no [db.migrations] schema_paths`);
  return [...section[1]!.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

function expand(supabaseDir: string, pattern: string): string[] {
  const segments = path.normalize(pattern).split(path.sep).filter((s) => s !== '' && s !== '.');
  let found = [supabaseDir];
  for (const segment of segments) {
    if (!segment.includes('*')) {
      found = found.map((dir) => path.join(dir, segment));
      continue;
    }
    const re = new RegExp(`^${segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    found = found.flatMap((dir) => {
      try {
        return readdirSync(dir).filter((name) => re.test(name)).sort().map((name) => path.join(dir, name));
      } catch {
        return [];
      }
    });
  }
  return found;
}

/** The schema's files in load order; fails naming a path that matches nothing, and any .sql file
 * under schemas/ that no path names (the CLI would silently leave it out). */
export function schemaFiles(supabaseDir = SUPABASE_DIR): string[] {
  const files: string[] = [];
  for (const pattern of schemaPaths(supabaseDir)) {
    const matched = expand(supabaseDir, pattern).filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
    if (matched.length === 0) throw new Error(`schema_paths entry "${pattern}" matches no file`);
    for (const f of matched) if (!files.includes(f)) files.push(f);
  }
  const all: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.sql')) all.push(p);
    }
  };
  walk(path.join(supabaseDir, 'schemas'));
  const missing = all.filter((f) => !files.includes(f));
  if (missing.length > 0) {
    throw new Error(`not in supabase/config.toml schema_paths: ${missing.map((f) => path.relative(supabaseDir, f)).join(', ')}`);
  }
  return files;
}
