// Proves the operations docs cannot fall behind the code: every environment variable the service
// reads (shared/config.ts ENV_VARIABLES) has a row in docs/operations.md's configuration table, and
// every table row names a real variable.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARIABLES } from '../../shared/config';

const doc = readFileSync(join(__dirname, '../../docs/operations.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Configuration'));
const documented = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

describe('docs/operations.md configuration table', () => {
  it('documents every variable the service reads', () => {
    expect(ENV_VARIABLES.length).toBeGreaterThan(20);
    expect(ENV_VARIABLES.filter((v) => !documented.includes(v))).toEqual([]);
  });

  it('documents no variable the service does not read', () => {
    expect(documented.filter((v) => !(ENV_VARIABLES as readonly string[]).includes(v as string))).toEqual([]);
  });
});
