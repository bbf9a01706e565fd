/** The chaos run (npm run test:chaos): real API, worker and simulator processes under faults.
 * Kept out of `npm test` (testMatch there is *.test.ts); sized by CHAOS_REQUESTS / CHAOS_CALLS,
 * replayed by CHAOS_SEED. */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/chaos'],
  testMatch: ['**/*.chaos.ts'],
  maxWorkers: 1,
  testTimeout: 600000,
};
