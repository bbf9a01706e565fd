/**
 * `npm run test:cluster`: the black-box call-gate, metered-renewal and provisioning suites again,
 * on a Redis Cluster of three masters (CONTRACT §13) instead of one Redis. Start the cluster
 * first: `bash .ci/redis-cluster` (127.0.0.1:7001..7003; `.ci/run` does). The test support reads
 * REDIS_CLUSTER_NODES (test/support/redis.ts) and passes it to every service it builds or starts
 * as a child process, and cleans each file's keys up on every master.
 *
 * The list is explicit: a suite belongs here when it drives the service through Redis the way
 * production does. Left out, and why:
 * - suites that put a TCP proxy in front of one Redis, or own, crash, stall or restart a
 *   redis-server of their own (test/calls/{late-stores,slow-stores,brown-out-granted-terms,
 *   redis-breaker,spend-controls,redis-outage,admit-batch-gate,fail-mode},
 *   test/cache/write-through-repair, test/workers/schedules, test/security/rate-limit-redis-down,
 *   test/chaos/*): their faults are one server's, and they point REDIS_URL at it (testEnv then
 *   leaves the cluster out, so they would only run on one Redis again);
 * - suites that never touch Redis or touch it only as any other suite does (the SQL, schema,
 *   HTTP-validation, fuzz, browser and sandbox suites): one more run proves nothing about Cluster;
 * - test/operations/migrate-key-layout: it seeds the previous release's layout (BullMQ on the
 *   unhashed `<p>:bull` prefix), which never ran on a cluster and which a cluster refuses.
 */
const base = require('./jest.config.js');

const CLUSTER_NODES = '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003';
process.env.REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES || CLUSTER_NODES;

const calls = [
  'assistant-request',
  'metered-renewals',
  'meter-due',
  // The index of the due keys pruned by the meter sweep (a one-key script: the index's slot only).
  'meter-due-prune',
  'renewals-concurrency',
  'holds-concurrency',
  'hold-lifecycle',
  'admit-batch',
  'admit-lanes',
  'call-billing',
  'call-settle',
  'outbound-calls',
  'redis-holds',
  'lua-scripts',
  'settled-hold-release',
  // Every key and queue in one slot per script or queue; the due keys spread over the masters.
  'cluster-slots',
];
const provisioning = ['provision-api', 'state-machine', 'failure-modes', 'worker-processes'];
const more = [
  // The due sets' gauges summed over every indexed key.
  'test/operations/metrics.test.ts',
  // The limiter's scripts loaded on every master (SCRIPT LOAD names no key).
  'test/security/rate-limit.test.ts',
  // A number's cache entries dropped one key per DEL (two slots), after its rent went unpaid.
  'test/rental/past-due.test.ts',
  // The meter sweep's cursor and the renewals it restores.
  'test/workers/meter-sweeper.test.ts',
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const { testMatch: _all, ...rest } = base;

module.exports = {
  ...rest,
  testRegex: [
    ...calls.map((f) => `test/calls/${f}.test.ts`),
    ...provisioning.map((f) => `test/provisioning/${f}.test.ts`),
    ...more,
  ].map((f) => `/${escape(f)}$`),
};
