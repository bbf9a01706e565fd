const tseslint = require('typescript-eslint');

/** Imports run one way: bin/ → api/, workers/ → shared/. A layer may not reach up or sideways. */
function forbid(files, layers) {
  const patterns = layers.map((layer) => ({
    group: [`../**/${layer}`, `../**/${layer}/**`, `./${layer}/**`],
    message: `imports run one way (bin → api, workers → shared): ${files[0].split('/')[0]}/ may not import ${layer}/.`,
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
    },
  },
  forbid(['shared/**/*.ts'], ['api', 'workers', 'bin']),
  forbid(['api/**/*.ts'], ['workers', 'bin']),
  forbid(['workers/**/*.ts'], ['api', 'bin']),
);
