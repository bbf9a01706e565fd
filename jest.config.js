/** Tests run against the real Postgres and Redis on this machine; each file gets its own
 * database and Redis key prefix (test/support/context.ts), so files run in parallel. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
    // jose ships ESM only; swc turns it into CommonJS for Jest on Node 20.
    '^.+/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Two cores: two workers keep Postgres and the runner from starving each other.
  maxWorkers: 2,
  testTimeout: 30000,
};
