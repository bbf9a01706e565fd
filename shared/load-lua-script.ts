// Reads a Redis Lua script from its own file, as BullMQ does (src/commands/*.lua): the file is
// named after the script and its key count (`call-gate-decide-5.lua`: five KEYS), and shared
// pieces are pulled in by a directive line of their own:
//   --- @include "includes/hold-entry"
// which names a file relative to the including one (`.lua` added when left out). Each include is
// replaced by that file's content, its own includes resolved first; a file already included is
// included once only (its later include lines become empty), so two pieces that both need a
// third do not define it twice. A missing include, an include cycle or a malformed directive is a
// programmer error: it throws at load time, naming the file and the include.
//
// Callers load their scripts once, when their module loads; the result goes to ioredis's
// defineCommand as it is (`{ numberOfKeys, lua }`), so no call reads a file.
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface LuaScript {
  /** The key count from the file name: the first that many arguments are KEYS. */
  numberOfKeys: number;
  /** The script's source with every include resolved. */
  lua: string;
}

// Any line that looks like a directive; the exact form is then checked, so a misspelt one fails
// instead of staying behind as a comment that includes nothing.
const DIRECTIVE = /^[ \t]*---[ \t]*@include\b.*$/gm;
const INCLUDE = /^--- @include "([^"]+)"[ \t]*$/;
const SCRIPT_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*-(\d+)\.lua$/;

/** The script in `file` (an absolute path, e.g. `join(__dirname, 'call-gate-end-4.lua')`). */
export function loadLuaScript(file: string): LuaScript {
  const path = resolve(file);
  const keys = SCRIPT_NAME.exec(basename(path));
  if (!keys) throw new Error(`Lua script ${path}: the name must end in -<number of keys>.lua (as call-gate-end-4.lua)`);
  return { numberOfKeys: Number(keys[1]), lua: withIncludes(read(path, `Lua script ${path}`), path, [path], new Set([path])) };
}

function withIncludes(source: string, file: string, chain: string[], included: Set<string>): string {
  return source.replace(DIRECTIVE, (line) => {
    const include = INCLUDE.exec(line);
    if (!include) throw new Error(`Lua script ${file}: malformed directive ${JSON.stringify(line)} (write --- @include "name")`);
    const name = include[1]!;
    const target = resolve(dirname(file), name.endsWith('.lua') ? name : `${name}.lua`);
    if (chain.includes(target)) throw new Error(`Lua include cycle: ${[...chain, target].join(' → ')}`);
    if (included.has(target)) return '';
    included.add(target);
    const content = read(target, `Lua include "${name}" of ${file}`);
    return withIncludes(content, target, [...chain, target], included).replace(/\n$/, '');
  });
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${what} cannot be read (${file}): ${(error as Error).message}`);
  }
}
