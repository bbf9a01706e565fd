// (b) The call gate with Redis down: the app runs on a bench-owned redis-server, which is
// killed after warm-up, so every assistant-request is answered from Postgres (the fallback path
// with its fail-fast Redis error first). Baseline: the bare constant route, as in (a). Also
// measured (b-floor-pg, info): the bare route plus one Postgres round trip, the floor any
// Postgres-backed decision pays on this machine. Order: bare, floor, gate.
//
// Issue 26: the anchor that carries the target is P, plain node:http with floor-pg's one query
// (child-process.ts http-pg): row b-gate-vs-http-pg. Neither P nor the gate needs Redis, so both
// run after the kill, interleaved around the gate's one run (P for half the duration, the gate,
// P again), so that drift in the shared machine's load weighs on both alike. The real workers
// process runs throughout, as in a deployment whose Redis died (its Redis steps fail and back off;
// the money outbox still polls Postgres).
import { startRedisServer } from '../../test/support/redis-server';
import { assistantRequestRewriter, expectAdmitted, gateNumbers, webhookHeaders } from '../lib/call-gate';
import { check, reportChecks, walletChecks } from '../lib/checks';
import { addCpu, cpuPerAnswer } from '../lib/cpu-time';
import { runHttpLoad, WARM_UP_SECONDS } from '../lib/http-load';
import type { Measurement, Scenario } from '../lib/types';
import { createWorld, startChild } from '../lib/world';

/** P's two halves as one measurement: exact throughput, count-weighted mean percentiles (as a's combine). */
function combineHalves(a: Measurement, b: Measurement): Measurement {
  const count = a.count + b.count;
  const weighted = (f: (m: Measurement) => number) => (count > 0 ? (f(a) * a.count + f(b) * b.count) / count : Number.NaN);
  return {
    label: a.label,
    throughput: count / (a.durationSeconds + b.durationSeconds),
    unit: a.unit,
    p50Ms: weighted((m) => m.p50Ms),
    p99Ms: weighted((m) => m.p99Ms),
    count,
    errors: a.errors + b.errors,
    durationSeconds: a.durationSeconds + b.durationSeconds,
    cpu: addCpu(a.cpu, b.cpu),
  };
}

export const scenario: Scenario = {
  name: 'b-assistant-request-redis-down',
  title: 'assistant-request with Redis stopped (Postgres fallback) vs a constant express route',
  target: { minThroughputRatio: 0.5, text: '≥ 50%' },
  async run(settings, progress) {
    const redis = await startRedisServer();
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL, redisUrl: redis.url });
    const children = [await startChild('bare', world.env)];
    try {
      const [bare] = children;
      const app = await startChild('app', world.env);
      children.push(app);
      const floor = await startChild('floor-pg', world.env);
      children.push(floor);
      const httpPg = await startChild('http-pg', world.env);
      children.push(httpPg);
      // Quiet: once Redis is killed every BullMQ worker logs each failed reconnect, which is the
      // outage this scenario makes, not news, and would bury the bench's own progress lines.
      const workers = await startChild('workers', { ...world.env, LOG_LEVEL: 'fatal' });
      children.push(workers);
      const numbers = await gateNumbers(world.services, settings.BENCH_GATE_ORGS);
      for (const n of numbers) await expectAdmitted(app.url, n);
      const load = { connections: settings.BENCH_CONNECTIONS, durationSeconds: settings.BENCH_DURATION_SECONDS, headers: webhookHeaders, stores: world.stores };
      // Each side first runs WARM_UP_SECONDS unmeasured (JIT warm-up; for the gate, its Postgres path).
      const warmUp = (label: string, url: string, tag: string) => runHttpLoad({ ...load, durationSeconds: WARM_UP_SECONDS, label, url: `${url}/api/vapi/webhook`, setupRequest: assistantRequestRewriter(numbers, tag) }, () => undefined);
      await warmUp('bare (warm-up)', bare!.url, 'bare-warm');
      const baseline = await runHttpLoad({ ...load, label: 'bare express', url: `${bare!.url}/api/vapi/webhook`, serverPid: bare!.pid, setupRequest: assistantRequestRewriter(numbers, 'bare') }, progress);
      await warmUp('floor (warm-up)', floor.url, 'floor-warm');
      const floorRun = await runHttpLoad({ ...load, label: 'bare express + one Postgres round trip', url: `${floor.url}/api/vapi/webhook`, serverPid: floor.pid, setupRequest: assistantRequestRewriter(numbers, 'floor') }, progress);
      await redis.stop();
      progress('redis-server killed; the app now answers from Postgres');
      await expectAdmitted(app.url, numbers[0]!);
      await warmUp('gate (warm-up)', app.url, 'gate-warm');
      await warmUp('node:http + Postgres (warm-up)', httpPg.url, 'http-warm');
      const half = Math.max(1, Math.round(settings.BENCH_DURATION_SECONDS / 2));
      const anchorHalf = (k: number) =>
        runHttpLoad({ ...load, durationSeconds: half, label: 'node:http + one Postgres query', url: `${httpPg.url}/api/vapi/webhook`, serverPid: httpPg.pid, setupRequest: assistantRequestRewriter(numbers, `http-${k}`) }, progress);
      const anchorFirst = await anchorHalf(0);
      const subject = await runHttpLoad({ ...load, label: 'call gate (Redis down)', url: `${app.url}/api/vapi/webhook`, serverPid: app.pid, setupRequest: assistantRequestRewriter(numbers, 'gate') }, progress);
      const httpRun = combineHalves(anchorFirst, await anchorHalf(1));
      // Every call answered from Postgres has its calls row (call_gate_admit inserts it before the
      // answer); requests in flight when autocannon stops are held but not counted, so ≥.
      const orgIds = numbers.map((n) => n.orgId);
      const held = await world.count("select count(*) from calls where org_id = any($1::uuid[]) and admitted_path = 'database_fallback'", [orgIds]);
      const checks = reportChecks(
        [check(held >= subject.count + 1, `${held} holds placed in Postgres, ≥ ${subject.count + 1} expected (2xx counted + the probe after the kill; the warm-up's holds come on top)`), ...(await walletChecks(world, orgIds, { redis: false }))],
        progress,
      );
      const toFloor = `÷ the bare route + one Postgres round trip (same run): ${(subject.throughput / floorRun.throughput).toFixed(2)}`;
      const toHttp = `÷ node:http + one Postgres query (same run, P G P after the kill): ${(subject.throughput / httpRun.throughput).toFixed(2)} (p99 ${(subject.p99Ms / httpRun.p99Ms).toFixed(2)}×); node:http ÷ the express floor ${(httpRun.throughput / floorRun.throughput).toFixed(2)}`;
      const cpu = `CPU per answer (server, Redis, Postgres, load generator): bare ${cpuPerAnswer(baseline.cpu, baseline.count)}; floor ${cpuPerAnswer(floorRun.cpu, floorRun.count)}; node:http+Postgres ${cpuPerAnswer(httpRun.cpu, httpRun.count)}; gate ${cpuPerAnswer(subject.cpu, subject.count)}`;
      return {
        subject,
        baseline,
        notes: [`Redis killed (SIGKILL) before the subject run; ${numbers.length} organisations; ${settings.BENCH_CONNECTIONS} connections; the workers process runs throughout`, toFloor, toHttp, cpu, ...checks],
        also: [
          {
            name: 'b-gate-vs-http-pg',
            title: 'assistant-request with Redis stopped (Postgres fallback) vs plain node:http reading the body and making one Postgres query (issue 26 anchor)',
            target: { minThroughputRatio: 0.75, text: '≥ 75% of node:http + Postgres' },
            subject,
            baseline: httpRun,
            notes: [`same run and gate measurement as b-assistant-request-redis-down; ${toHttp}`],
          },
          {
            name: 'b-floor-pg',
            title: 'the floor any Postgres-backed decision pays here: the bare route plus one named SELECT per request, vs the same bare measurement',
            subject: floorRun,
            baseline,
            notes: [`same run as b-assistant-request-redis-down; ${toFloor}`],
          },
        ],
      };
    } finally {
      // Redis back first, so that the workers close as they would in a deployment, not against a
      // dead server (their queue connections would wait out the stop's deadline), and the world
      // can delete its keys.
      await redis.start().catch(() => undefined);
      await Promise.allSettled(children.map((c) => c.stop()));
      await world.close();
      await redis.stop();
    }
  },
};
