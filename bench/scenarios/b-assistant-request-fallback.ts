// (b) The call gate with Redis down: the app runs on a bench-owned redis-server, which is
// killed after warm-up, so every assistant-request is answered from Postgres (the fallback path
// with its fail-fast Redis error first). Baseline: the bare constant route, as in (a). Also
// measured (b-floor-pg, info): the bare route plus one Postgres round trip, the floor any
// Postgres-backed decision pays on this machine. Order: bare, floor, gate.
import { startRedisServer } from '../../test/support/redis-server';
import { assistantRequestRewriter, expectAdmitted, gateNumbers, webhookHeaders } from '../lib/call-gate';
import { check, reportChecks, walletChecks } from '../lib/checks';
import { cpuPerAnswer } from '../lib/cpu-time';
import { runHttpLoad, WARM_UP_SECONDS } from '../lib/http-load';
import type { Scenario } from '../lib/types';
import { createWorld, startChild } from '../lib/world';

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
      const numbers = await gateNumbers(world.services, settings.BENCH_GATE_ORGS);
      for (const n of numbers) await expectAdmitted(app.url, n);
      const load = { connections: settings.BENCH_CONNECTIONS, durationSeconds: settings.BENCH_DURATION_SECONDS, headers: webhookHeaders };
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
      const subject = await runHttpLoad({ ...load, label: 'call gate (Redis down)', url: `${app.url}/api/vapi/webhook`, serverPid: app.pid, setupRequest: assistantRequestRewriter(numbers, 'gate') }, progress);
      // Every call answered from Postgres has its calls row (call_gate_admit inserts it before the
      // answer); requests in flight when autocannon stops are held but not counted, so ≥.
      const orgIds = numbers.map((n) => n.orgId);
      const held = await world.count("select count(*) from calls where org_id = any($1::uuid[]) and admitted_path = 'database_fallback'", [orgIds]);
      const checks = reportChecks(
        [check(held >= subject.count + 1, `${held} holds placed in Postgres, ≥ ${subject.count + 1} expected (2xx counted + the probe after the kill; the warm-up's holds come on top)`), ...(await walletChecks(world, orgIds, { redis: false }))],
        progress,
      );
      const toFloor = `÷ the bare route + one Postgres round trip (same run): ${(subject.throughput / floorRun.throughput).toFixed(2)}`;
      const cpu = `CPU per answer (server, Redis, Postgres, load generator): bare ${cpuPerAnswer(baseline.cpu, baseline.count)}; floor ${cpuPerAnswer(floorRun.cpu, floorRun.count)}; gate ${cpuPerAnswer(subject.cpu, subject.count)}`;
      return {
        subject,
        baseline,
        notes: [`Redis killed (SIGKILL) before the subject run; ${numbers.length} organisations; ${settings.BENCH_CONNECTIONS} connections`, toFloor, cpu, ...checks],
        also: [
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
      await Promise.allSettled(children.map((c) => c.stop()));
      await redis.start().catch(() => undefined); // so the world can delete its keys
      await world.close();
      await redis.stop();
    }
  },
};
