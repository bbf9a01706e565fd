// (a) The call gate on its fast path: assistant-request answered from the Redis cache, through
// the real app (auth, parsing, number lookup, balance, holds, metrics), vs a bare express route
// with the same JSON parser answering the same payload with a constant. Both run as child
// processes; autocannon drives them from this one with the same connections and request bodies.
//
// The gate is measured under both hold policies (issue 10), in the same run against the same bare
// measurement: `metered` (the default: one slice held, and its first renewal written into the
// due set by the same admission script — issue 15; no worker runs here, so the meter pump never
// turns them into jobs) as this scenario's row, and `full` (the whole maxDuration held, nothing
// due) as the row a-assistant-request-full. Each app gets its own organisations, funded so that
// no hold is refused under either policy; after the load the scenario counts the holds recorded
// in Postgres (and, for metered, the due renewals waiting) against the 2xx answers. The three sides
// run in halves, B R M F F M R B, so that drift in the shared machine's load is spread evenly.
// R is the bare route plus one Redis round trip (a-floor-redis, info): the part of the gap to the
// bare route that any gate keeping its balance in Redis pays on this machine.
//
// Issue 26: the express routes flatter the gate (its fast lane skips express, and express costs
// about as much CPU per request as the gate's own work here), so the right anchor is H, plain
// node:http doing the least any server answering this webhook must (read and parse the body, one
// Redis script call, the constant answer): row a-gate-vs-http-redis, metered gate ÷ H, carries
// issue 26's target. H joins the interleaving (B R H M F F M H R B), and the real workers process
// now runs beside the apps for the whole scenario (meter pump, call-meter worker, sweeps, outbox
// poll), as in a deployment: their polling is on every side alike. The express rows stay, as history.
import { parseDueMember } from '../../shared/calls/meter-due';
import { callCharge, VAPI_MAX_DURATION_SECONDS } from '../../shared/pricing';
import { assistantRequestRewriter, expectAdmitted, gateNumbers, webhookHeaders, type GateNumber } from '../lib/call-gate';
import { check, reportChecks, walletChecks, type CheckResult } from '../lib/checks';
import { addCpu, cpuPerAnswer, type CpuMs } from '../lib/cpu-time';
import { MAX_TOPUP } from '../lib/fixtures';
import { runHttpLoad, WARM_UP_SECONDS } from '../lib/http-load';
import { startSimulators } from '../lib/simulators';
import type { Measurement, Scenario, Target } from '../lib/types';
import { createWorld, startChild, type BenchWorld, type ChildHandle } from '../lib/world';
import { allDueEntries } from '../../test/support/meter-due';

const TARGET: Target = { minThroughputRatio: 0.85, maxP99Ratio: 1.5, text: '≥ 85% and p99 ≤ 1.5×' };
/** Issue 26: the cache path against the node:http anchor (its throughput, its p99). */
const HTTP_TARGET: Target = { minThroughputRatio: 0.85, maxP99Ratio: 1.5, text: '≥ 85% of node:http + Redis, p99 ≤ 1.5×' };
/** An upper bound on what the gate can answer here (the bare route peaks near 9k req/s). */
const MAX_RATE = 20_000;


type Policy = 'metered' | 'full';

/** One side's halves as one measurement: exact throughput, count-weighted mean percentiles. */
function combine(parts: Measurement[]): Measurement {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const seconds = parts.reduce((a, p) => a + p.durationSeconds, 0);
  const weighted = (f: (p: Measurement) => number) => (count > 0 ? parts.reduce((a, p) => a + f(p) * p.count, 0) / count : Number.NaN);
  return {
    label: parts[0]!.label,
    throughput: count / seconds,
    unit: 'req/s',
    p50Ms: weighted((p) => p.p50Ms),
    p99Ms: weighted((p) => p.p99Ms),
    count,
    errors: parts.reduce((a, p) => a + p.errors, 0),
    durationSeconds: seconds,
    cpu: parts.reduce<CpuMs | undefined>((a, p) => addCpu(a, p.cpu), undefined),
  };
}

/** Waits (≤ 5 s) until the batched hold records stop arriving; returns how many the org set has. */
async function recordedHolds(world: BenchWorld, numbers: GateNumber[], policy: Policy, expected: number): Promise<number> {
  const orgIds = numbers.map((n) => n.orgId);
  const read = () => world.count('select count(*) from calls where org_id = any($1::uuid[]) and hold_policy = $2', [orgIds, policy]);
  const deadline = Date.now() + 5000;
  let last = -1;
  for (;;) {
    const n = await read();
    if (n >= expected || n === last || Date.now() > deadline) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const scenario: Scenario = {
  name: 'a-assistant-request',
  title: 'assistant-request from the Redis cache (metered holds) vs a constant express route',
  target: TARGET,
  async run(settings, progress) {
    // The workers' number reconciler asks Twilio and Vapi at start: the simulators answer it.
    const sims = await startSimulators();
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL, env: sims.env });
    const children: ChildHandle[] = [];
    try {
      const bare = await startChild('bare', world.env);
      children.push(bare);
      const floor = await startChild('floor-redis', world.env);
      children.push(floor);
      const httpRedis = await startChild('http-redis', world.env);
      children.push(httpRedis);
      // The gate's workers, as a deployment runs them (the world's prefix: one due set, one queue).
      children.push(await startChild('workers', { ...world.env, CALL_HOLD_POLICY: 'metered' }));
      const metered = await startChild('app', { ...world.env, CALL_HOLD_POLICY: 'metered' });
      children.push(metered);
      const full = await startChild('app', { ...world.env, CALL_HOLD_POLICY: 'full' });
      children.push(full);
      const apps: Record<Policy, ChildHandle> = { metered, full };

      // Funding: every call a side could make on one organisation at MAX_RATE over both its
      // halves, at the full policy's hold (the larger), with the probe; the same for both sides.
      const orgs = settings.BENCH_GATE_ORGS;
      const fullHold = callCharge(world.services.config.pricing, VAPI_MAX_DURATION_SECONDS);
      const half = Math.max(1, Math.round(settings.BENCH_DURATION_SECONDS / 2));
      const callsPerOrg = Math.ceil((MAX_RATE * (2 * half + WARM_UP_SECONDS)) / orgs) + 1;
      const topups = Math.ceil((callsPerOrg * fullHold) / MAX_TOPUP);
      const numbers: Record<Policy, GateNumber[]> = {
        metered: await gateNumbers(world.services, orgs, { topups, first: 0 }),
        full: await gateNumbers(world.services, orgs, { topups, first: orgs }),
      };
      for (const policy of ['metered', 'full'] as const) {
        for (const n of numbers[policy]) await expectAdmitted(apps[policy].url, n); // warms the caches for every number
      }
      // Both apps write to the world's due sets (its key prefix): full should write nothing.
      const dueBefore = (await world.services.calls.due.depth()).entries;

      // B M F F M B: each side runs twice, for half the duration, placed symmetrically in time,
      // so a machine that gets busier or quieter during the run (it is shared) weighs on all
      // three alike. Throughput is exact over both halves; p50/p99 are the count-weighted mean of
      // the two halves' percentiles (autocannon reports percentiles, not histograms).
      const load = { connections: settings.BENCH_CONNECTIONS, durationSeconds: half, headers: webhookHeaders, stores: world.stores };
      type Side = 'bare' | 'floor' | 'http' | Policy;
      const sides: Record<Side, { label: string; child: ChildHandle; numbers: GateNumber[]; parts: Measurement[] }> = {
        bare: { label: 'bare express', child: bare, numbers: numbers.metered, parts: [] },
        floor: { label: 'bare express + one Redis round trip', child: floor, numbers: numbers.metered, parts: [] },
        http: { label: 'node:http + one Redis script call', child: httpRedis, numbers: numbers.metered, parts: [] },
        metered: { label: 'call gate (cache, metered)', child: apps.metered, numbers: numbers.metered, parts: [] },
        full: { label: 'call gate (cache, full)', child: apps.full, numbers: numbers.full, parts: [] },
      };
      const order: Side[] = ['bare', 'floor', 'http', 'metered', 'full', 'full', 'metered', 'http', 'floor', 'bare'];
      // Every side first runs WARM_UP_SECONDS unmeasured, so that no side's first half pays for its
      // JIT warm-up (the bare route and the floor would otherwise start cold, and look slower).
      for (const side of ['bare', 'floor', 'http', 'metered', 'full'] as const) {
        const s = sides[side];
        await runHttpLoad({ ...load, durationSeconds: WARM_UP_SECONDS, label: `${s.label} (warm-up)`, url: `${s.child.url}/api/vapi/webhook`, setupRequest: assistantRequestRewriter(s.numbers, `${side}-warm`) }, () => undefined);
      }
      for (const [k, side] of order.entries()) {
        const s = sides[side];
        s.parts.push(await runHttpLoad({ ...load, label: s.label, url: `${s.child.url}/api/vapi/webhook`, serverPid: s.child.pid, setupRequest: assistantRequestRewriter(s.numbers, `${side}-${k}`) }, progress));
      }
      const baseline = combine(sides.bare.parts);
      const floorRun = combine(sides.floor.parts);
      const httpRun = combine(sides.http.parts);
      const measured = { metered: combine(sides.metered.parts), full: combine(sides.full.parts) };
      const results: CheckResult[] = [];
      for (const policy of ['metered', 'full'] as const) {
        const expected = measured[policy].count + numbers[policy].length;
        const recorded = await recordedHolds(world, numbers[policy], policy, expected);
        // Requests still in flight when autocannon stops are answered (and held) but not counted,
        // so with no refusal recorded ≥ expected, by up to the connections × 2 halves.
        results.push(check(recorded >= expected, `${policy}: ${recorded} holds recorded in Postgres, ≥ ${expected} expected (2xx counted + warm-up)`));
      }
      // With the workers running, an entry due within the pump's horizon has become a call-meters
      // job (none should at the default 120 s slices and a run this short): both are counted.
      const pumped = await world.services.queues.callMeters.getJobCountByTypes('delayed', 'waiting', 'active', 'completed', 'failed', 'prioritized');
      const dueAdded = (await world.services.calls.due.depth()).entries - dueBefore + pumped;
      const fullOrgs = new Set(numbers.full.map((n) => n.orgId));
      const fullDue = (await allDueEntries(world.services.redis, world.services.keys)).filter((e) => fullOrgs.has(parseDueMember(e.member)?.orgId ?? '')).length;
      results.push(
        check(
          dueAdded >= measured.metered.count && fullDue === 0,
          `metered: ${dueAdded} first renewals written to the due set (ZCARD, plus ${pumped} the pump turned into jobs) for ${measured.metered.count} answered calls; full wrote ${fullDue}`,
        ),
      );
      results.push(...(await walletChecks(world, [...numbers.metered, ...numbers.full].map((n) => n.orgId), { redis: true })));
      const checks = reportChecks(results, progress);

      const m = measured.metered;
      const f = measured.full;
      const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-');
      const comparison = `metered ÷ full in the same run: throughput ${ratio(m.throughput, f.throughput)}, p50 ${ratio(m.p50Ms, f.p50Ms)}, p99 ${ratio(m.p99Ms, f.p99Ms)} (order: ${order.join(', ')}; ${half} s each)`;
      const toFloor = `÷ the bare route + one Redis round trip (same run): metered ${ratio(m.throughput, floorRun.throughput)}, full ${ratio(f.throughput, floorRun.throughput)}`;
      const toHttp = `÷ node:http + one Redis script call (same run): metered ${ratio(m.throughput, httpRun.throughput)} (p99 ${ratio(m.p99Ms, httpRun.p99Ms)}×), full ${ratio(f.throughput, httpRun.throughput)}; node:http ÷ bare express ${ratio(httpRun.throughput, baseline.throughput)}`;
      const cpu = `CPU per answer (server, Redis, Postgres, load generator): bare ${cpuPerAnswer(baseline.cpu, baseline.count)}; floor ${cpuPerAnswer(floorRun.cpu, floorRun.count)}; node:http+Redis ${cpuPerAnswer(httpRun.cpu, httpRun.count)}; metered ${cpuPerAnswer(m.cpu, m.count)}; full ${cpuPerAnswer(f.cpu, f.count)}`;
      const common = `${orgs} organisations per policy (one number each, ${topups} × ${MAX_TOPUP} funding each), a new call id per request; ${settings.BENCH_CONNECTIONS} connections`;
      return {
        subject: m,
        baseline,
        notes: [common, 'the workers process runs throughout (meter pump, call-meter worker, sweeps)', comparison, toFloor, toHttp, cpu, ...checks],
        also: [
          {
            name: 'a-assistant-request-full',
            title: 'assistant-request from the Redis cache (full holds, the pre-metered behaviour) vs the same constant express route measurement',
            target: TARGET,
            subject: f,
            baseline,
            notes: [`same run, payload and bare measurement as a-assistant-request; ${comparison}`],
          },
          {
            name: 'a-gate-vs-http-redis',
            title: 'assistant-request from the Redis cache (metered) vs plain node:http reading the body and making one Redis script call (issue 26 anchor)',
            target: HTTP_TARGET,
            subject: m,
            baseline: httpRun,
            notes: [`same run and gate measurement as a-assistant-request; ${toHttp}`],
          },
          {
            name: 'a-floor-redis',
            title: 'the floor any Redis-backed gate pays here: the bare route plus one EVALSHA (HGET) per request, vs the same bare measurement',
            subject: floorRun,
            baseline,
            notes: [`same run as a-assistant-request; ${toFloor}`],
          },
        ],
      };
    } finally {
      await Promise.allSettled(children.map((c) => c.stop()));
      await world.close();
      await sims.close();
    }
  },
};
