// Imports run one way: bin/ → api/, workers/ → shared/. The lint rule in eslint.config.js keeps it
// so; these cases prove it refuses an import against the arrow and allows one along it.
import { ESLint } from 'eslint';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
// The project's own config, passed in: ESLint's config loader uses a dynamic import Jest's VM lacks.
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: require(join(ROOT, 'eslint.config.js')) });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import direction', () => {
  it.each([
    ['shared/calls/example.ts', "import { createApp } from '../../api/app';"],
    ['shared/calls/example.ts', "import { startWorkers } from '../../workers/main';"],
    ['shared/example.ts', "import { renderBanner } from '../bin/banner';"],
    ['api/routes/example.ts', "import { startWorkers } from '../../workers/main';"],
    ['workers/example.ts', "import { createApp } from '../api/app';"],
    ['api/routes/example.ts', "import { startSandbox } from '../../sandbox/start-sandbox';"],
    ['workers/example.ts', "import { startSandbox } from '../sandbox/start-sandbox';"],
    ['shared/calls/example.ts', "import { startSandbox } from '../../sandbox/start-sandbox';"],
    ['sandbox/example.ts', "import { createApp } from '../api/app';"],
    ['sandbox/example.ts', "import { startWorkers } from '../workers/main';"],
  ])('refuses, in %s: %s', async (file, code) => {
    const messages = await restrictedImports(file, `${code}\nexport const x = 1;\n`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/imports run one way/);
  });

  it.each([
    ['api/routes/example.ts', "import { QUEUE_NAMES } from '../../shared/queues/queues';"],
    ['workers/example.ts', "import { QUEUE_NAMES } from '../shared/queues/queues';"],
    ['bin/example.ts', "import { createApp } from '../api/app';"],
    ['bin/example.ts', "import { startSandbox } from '../sandbox/start-sandbox';"],
    ['sandbox/example.ts', "import { loadConfig } from '../shared/config';"],
    ['shared/calls/example.ts', "import { createBullBoard } from '@bull-board/api';"],
  ])('allows, in %s: %s', async (file, code) => {
    expect(await restrictedImports(file, `${code}\nexport const x = 1;\n`)).toEqual([]);
  });

  it('no file under shared/ imports api/, workers/, bin/ or sandbox/; api/ and workers/ import neither each other nor sandbox/; sandbox/ imports only shared/', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
      });
    const offenders: string[] = [];
    const check = (layer: string, forbidden: RegExp) => {
      for (const file of files(join(ROOT, layer))) {
        const imports = [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1] ?? '');
        for (const spec of imports) if (spec.startsWith('.') && forbidden.test(spec)) offenders.push(`${relative(ROOT, file)} → ${spec}`);
      }
    };
    check('shared', /(^|\/)(api|workers|bin|sandbox)(\/|$)/);
    check('api', /(^|\/)(workers|bin|sandbox)(\/|$)/);
    check('workers', /(^|\/)(api|bin|sandbox)(\/|$)/);
    check('sandbox', /(^|\/)(api|workers|bin)(\/|$)/);
    expect(offenders).toEqual([]);
  });
});
