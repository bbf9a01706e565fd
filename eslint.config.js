const tseslint = require('typescript-eslint');

/** Imports run one way: bin/ → api/, workers/, sandbox/ → shared/. A layer may not reach up or
 * sideways; sandbox/ (the third parties' simulators) is a process role of its own that only bin/,
 * tests and benchmarks start, so the service's own code never depends on it; tools/ (the schema
 * drift check and migration writer) is developers' tooling that only reads shared/db. */
function forbid(files, layers) {
  const patterns = layers.map((layer) => ({
    group: [`../**/${layer}`, `../**/${layer}/**`, `./${layer}/**`],
    message: `imports run one way (bin → api, workers, sandbox → shared): ${files[0].split('/')[0]}/ may not import ${layer}/.`,
  }));
  return { files, rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

module.exports = tseslint.config(
  { ignores: ['node_modules/**', 'bench/results/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      eqeqeq: ['error', 'always'],
      // A second case of one value is dead code that reads like a live branch (one was found
      // after two branches were merged).
      'no-duplicate-case': 'error',
    },
  },
  // The billing page's browser modules (api/billing-page/*.js): ES modules run by the browser as
  // they are, no build step. Only the browser globals they use are known, so a Node-only name
  // (require, process, Buffer) or a typo is an error; no console left behind; no eval or innerHTML
  // writes (the page sets text only, and its CSP forbids inline script).
  {
    files: ['api/billing-page/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'sessionStorage', 'fetch', 'Intl', 'crypto', 'setTimeout', 'clearTimeout', 'URL', 'URLSearchParams', 'AbortSignal', 'HTMLElement']
          // Blob URLs: the statement's CSV is fetched with the token, then saved from memory.
          .concat(['Blob'])
          .map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      'no-undef': 'error',
      'no-console': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-restricted-properties': ['error',
        { property: 'innerHTML', message: 'set text with textContent; the page never builds HTML from strings' },
        { property: 'outerHTML', message: 'set text with textContent; the page never builds HTML from strings' },
        { property: 'insertAdjacentHTML', message: 'set text with textContent; the page never builds HTML from strings' }],
      'no-restricted-globals': ['error', { name: 'localStorage', message: 'the token is kept for the tab only (sessionStorage)' }],
    },
  },
  forbid(['shared/**/*.ts'], ['api', 'workers', 'bin', 'sandbox', 'tools']),
  forbid(['api/**/*.ts'], ['workers', 'bin', 'sandbox', 'tools']),
  forbid(['workers/**/*.ts'], ['api', 'bin', 'sandbox', 'tools']),
  forbid(['sandbox/**/*.ts'], ['api', 'workers', 'bin', 'tools']),
  forbid(['tools/**/*.ts'], ['api', 'workers', 'bin', 'sandbox']),
);
