// Proves the Redis Lua scripts live in their own files and load as one: the loader
// (shared/load-lua-script.ts) resolves `--- @include` lines recursively, each include once, and
// fails loudly — naming the include — on a missing one, a cycle or a malformed directive; every
// .lua file under shared/ opens with its header (Input, Output, Events/effects); every script
// loads, compiles in a real Redis and reads no more KEYS than its name declares; and no
// TypeScript file under shared/ still carries a Lua script body.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { loadLuaScript } from '../../shared/load-lua-script';
import { createRedis, type RedisClient } from '../../shared/redis';
import { TEST_REDIS } from '../support/redis';

const SHARED = join(__dirname, '..', '..', 'shared');

function filesUnder(dir: string, extension: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, extension);
    return entry.name.endsWith(extension) ? [path] : [];
  });
}

const luaFiles = filesUnder(SHARED, '.lua');
const scripts = luaFiles.filter((file) => /-\d+\.lua$/.test(file));
const named = (files: string[]) => files.map((file) => [relative(SHARED, file), file]);

describe('the loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lua-scripts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, source: string) => {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), source);
    return join(dir, name);
  };

  it('replaces each include line with the file it names, its own includes first, each file once', () => {
    write('lib/number.lua', 'local function n(x) return x end\n');
    write('lib/entry.lua', '--- @include "number"\nlocal function parse(v) return n(v) end\n');
    write('lib/sum.lua', '--- @include "number.lua"\nlocal function sum(a, b) return n(a + b) end\n');
    const file = write('add-entry-2.lua', '--- @include "lib/entry"\n--- @include "lib/sum"\nreturn sum(parse(ARGV[1]), 1)\n');

    expect(loadLuaScript(file)).toEqual({
      numberOfKeys: 2,
      // lib/sum's include of number is already resolved above: its line is left empty.
      lua: 'local function n(x) return x end\nlocal function parse(v) return n(v) end\n' + '\nlocal function sum(a, b) return n(a + b) end\n' + 'return sum(parse(ARGV[1]), 1)\n',
    });
  });

  it('fails on a missing include, naming it and the file that includes it', () => {
    write('lib/entry.lua', '--- @include "nowhere"\n');
    const file = write('broken-1.lua', '--- @include "lib/entry"\nreturn 1\n');
    expect(() => loadLuaScript(file)).toThrow(/Lua include "nowhere" of .*lib\/entry\.lua cannot be read/);
  });

  it('fails on an include cycle, naming the files in it', () => {
    write('a.lua', '--- @include "b"\n');
    write('b.lua', '--- @include "a"\n');
    const file = write('cycle-0.lua', '--- @include "a"\nreturn 1\n');
    expect(() => loadLuaScript(file)).toThrow(/include cycle: .*cycle-0\.lua → .*a\.lua → .*b\.lua → .*a\.lua/);
  });

  it('fails on a misspelt directive rather than leaving it as a comment', () => {
    const file = write('typo-0.lua', "--- @include 'lib/entry'\nreturn 1\n");
    expect(() => loadLuaScript(file)).toThrow(/malformed directive/);
  });

  it('refuses a script whose name does not carry its key count', () => {
    const file = write('no-count.lua', 'return 1\n');
    expect(() => loadLuaScript(file)).toThrow(/-<number of keys>\.lua/);
  });
});

describe('the Lua files under shared/', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = createRedis(TEST_REDIS, 'blocking', 'lua-scripts');
    await redis.ping();
  });
  afterAll(() => redis.disconnect());

  it('are found (scripts and includes)', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(10);
    expect(luaFiles.length).toBeGreaterThan(scripts.length);
  });

  it.each(named(luaFiles))('%s opens with a header of Input, Output and Events/effects', (_name, file) => {
    const source = readFileSync(file!, 'utf8');
    expect(source.startsWith('--[[\n')).toBe(true);
    const header = source.slice(0, source.indexOf(']]'));
    expect(header.split('\n')[1]).toMatch(/^ {2}\S/); // the line saying what it does
    for (const section of ['Input:', 'Output:', 'Events/effects:']) expect(header).toMatch(new RegExp(`^ {4}${section}$`, 'm'));
  });

  it.each(named(scripts))('%s loads, compiles in Redis and reads no KEYS beyond its declared count', async (_name, file) => {
    const { numberOfKeys, lua } = loadLuaScript(file!);
    const read = [...lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(Math.max(0, ...read)).toBeLessThanOrEqual(numberOfKeys);
    expect(await redis.script('LOAD', lua)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('are the only place a script is written: no TypeScript file under shared/ holds a Lua body', () => {
    const offenders = filesUnder(SHARED, '.ts').filter((file) => /redis\.p?call\(|KEYS\[\d|ARGV\[\d|local function /.test(readFileSync(file, 'utf8')));
    expect(offenders.map((file) => relative(SHARED, file))).toEqual([]);
  });
});
