// (i) Capacity (issue 26): how many live metered calls one API process and one workers process
// carry on this machine. For each N of BENCH_CAPACITY_STEPS (1,000, 2,000, 4,000, …), N calls
// spread over BENCH_GATE_ORGS organisations are admitted through the real app (the webhook's
// assistant-request: the admission script holds one slice and writes the first renewal into the
// due set), and the real workers process renews them (meter pump → call-meters queue → meter
// worker: Lua renewal, the next slice's job, Postgres's copy), with CALL_HOLD_SECONDS at
// BENCH_CAPACITY_SLICE_SECONDS (10, the least the config allows, so that a few thousand calls
// make hundreds of renewals a second). CALL_MIN_BALANCE is set to one slice's cost, or every hold
// would be raised to the 79p minimum (84 s of calling at the default rate) and renew rarely.
//
// Once every call is in its renewal cycle (the last admission + the slice less its lead), a
// window of BENCH_CAPACITY_WINDOW_SLICES slices measures:
//   - renewal lateness: meter step start − its due time, in the workers process (meter-probe.ts);
//   - admissions: a steady trickle at BENCH_CAPACITY_ADMIT_RATE per second, through the app over
//     HTTP, each answer checked; each new call ends the oldest live one (status-update "ended"),
//     so N stays N, as in a deployment where calls start and end at the same rate;
//   - CPU per renewal: workers process + this scenario's redis-server + its database's Postgres
//     backends and Postgres's own background processes, over the window, ÷ renewal steps run;
//   - Redis memory per live call: INFO used_memory with N live (at the window's start, before the
//     trickle) − before the step's admissions, ÷ N (hold entries, their expiry members, the next
//     renewal's BullMQ job), BullMQ's bounded histories emptied at both readings.
// Before the steps: 5 s of idle CPU (what the pollers cost with nothing live) and one slice of
// the same admission trickle with no live calls (what admissions cost on this machine as it is).
// In every trickle a's node:http anchor (http-redis, on this Redis) gets the same requests at the
// same moments: one request's latency floor here, beside the gate's admissions (a shared 2-core
// machine puts several ms of scheduling delay into a p99 of a few hundred requests).
// A step passes when p99 lateness < 1 s and admission p99 < 10 ms; the scenario stops after the
// first step that misses (BENCH_CAPACITY_STOP_ON=lateness: only a lateness miss stops it, to find
// where renewals alone give out), or before a step that would not end (with the baseline) within
// BENCH_CAPACITY_BUDGET_SECONDS (a step is ≈ 2 slices + the window + 5 s). Between steps every live
// call is ended through the webhook (status-update "ended": Redis and Postgres stop counting it
// as live, so no sweep re-creates its meter), its renewals still waiting are dropped (the due set
// through its own claim/release, the queue's delayed jobs with drain), so steps do not pile up.
// The ended holds stay in Redis until they expire, as they would until their reports are billed.
//
// Baseline, beside the largest passing N: as many EVALSHA calls of a script that only returns 1,
// with the renewal script's 4 keys and 7 arguments, at the same rate, open loop, from this process
// on a fail-fast connection to the same Redis: its p99 and its CPU (Redis + this process).
// A redis-server of its own (as b uses), so that INFO memory and Redis's CPU are this scenario's
// alone: other people's test runs share this machine's Redis. Postgres is shared; its client
// backends of other databases are left out of the CPU.
import type { Redis } from 'ioredis';
import { loadConfig } from '../../shared/config';
import { renewalLeadSeconds } from '../../shared/calls/hold-policy';
import { callCharge } from '../../shared/pricing';
import { createRedis, type RedisClient } from '../../shared/redis';
import { startRedisServer } from '../../test/support/redis-server';
import { assistantRequest, gateNumbers, webhookHeaders, type GateNumber } from '../lib/call-gate';
import { check, reportChecks, walletChecks, type CheckResult } from '../lib/checks';
import { cpuBetween, eitherStore, procCpuMs, redisServerPid, sampleCpu, type CpuMs } from '../lib/cpu-time';
import { submitAll } from '../lib/drain';
import { jsonClient, type JsonClient } from '../lib/http-client';
import { startSimulators } from '../lib/simulators';
import type { MeterWindow } from '../lib/meter-probe';
import { runOpenLoop, type OpenLoopResult } from '../lib/open-loop';
import type { ExtraResult, Measurement, Scenario, Target } from '../lib/types';
import { createWorld, startChild, type ChildHandle } from '../lib/world';

/** Issue 26's bounds for a step. */
const LATENESS_P99_BELOW_MS = 1000;
const ADMISSION_P99_BELOW_MS = 10;
const STEP_TARGET: Target = { subjectP99BelowMs: LATENESS_P99_BELOW_MS, baselineP99BelowMs: ADMISSION_P99_BELOW_MS, text: 'renewal lateness p99 < 1 s (1st line), admission p99 < 10 ms (2nd line)' };
/** Connections of the bulk admissions and ends (as the HTTP scenarios' BENCH_CONNECTIONS default). */
const BULK_CONCURRENCY = 32;
const WEBHOOK = '/api/vapi/webhook';
/** How long the workers, Redis and Postgres are sampled idle, before the steps. */
const IDLE_SECONDS = 5;

type NoopRenew = Redis & { benchCapacityNoop(...args: Array<string | number>): Promise<number> };

interface StepResult {
  n: number;
  admitSeconds: number;
  window: MeterWindow;
  /** Maintenance jobs (sweeps) the workers ran during the window: name, start, duration. */
  maintenance: string[];
  windowSeconds: number;
  lateness: Measurement;
  admissions: Measurement;
  /** The node:http anchor, sent the same trickle in the same window. */
  anchor: Measurement;
  /** Workers (server), Redis, Postgres, this process (load) over the window. */
  cpu: CpuMs | undefined;
  appCpuMs: number;
  memBefore: number;
  memWith: number;
  /** Lateness p99 < 1 s and every check passed (admissions aside). */
  renewalsHeld: boolean;
  pass: boolean;
  checks: CheckResult[];
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
const us = (ms: number, count: number) => (count > 0 ? Math.round((ms * 1000) / count) : Number.NaN);
const tally = (o: Record<string, number>) =>
  Object.entries(o)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function endedMessage(n: GateNumber, callId: string): string {
  return JSON.stringify({
    message: {
      type: 'status-update',
      status: 'ended',
      timestamp: Date.now(),
      call: { id: callId, type: 'inboundPhoneCall', phoneNumberId: n.vapiPhoneNumberId, assistantOverrides: { metadata: { orgId: n.orgId } } },
      phoneNumber: { id: n.vapiPhoneNumberId, number: n.e164 },
    },
  });
}

async function usedMemory(redis: RedisClient): Promise<number> {
  const m = /used_memory:(\d+)/.exec(await redis.info('memory'));
  if (!m) throw new Error('INFO memory has no used_memory');
  return Number(m[1]);
}

/** Postgres processes that count: this world's database's backends and Postgres's own background processes. */
export const scenario: Scenario = {
  name: 'i-capacity',
  title: 'capacity: live metered calls held through real admissions and renewals, stepped up until renewal lateness p99 ≥ 1 s or admission p99 ≥ 10 ms',
  async run(settings, progress) {
    const started = Date.now();
    const slice = settings.BENCH_CAPACITY_SLICE_SECONDS;
    const windowSeconds = settings.BENCH_CAPACITY_WINDOW_SLICES * slice;
    const leadSeconds = renewalLeadSeconds(slice);
    const pricing = loadConfig({ ...process.env, CALL_HOLD_SECONDS: String(slice) }).pricing;
    const sliceCost = callCharge(pricing, slice);
    // A slice's cost is rounded up to whole pence, so it pays for a little more than `slice`
    // seconds (10 p = 10.7 s at 56 p/min): the average time between a call's renewals.
    const renewalInterval = (sliceCost * 60) / pricing.callRatePerMinute;
    const redisServer = await startRedisServer();
    const ownRedisPid = redisServerPid(redisServer.port);
    // The workers' number reconciler asks Twilio and Vapi at start: the simulators answer it.
    const sims = await startSimulators();
    const world = await createWorld({
      logLevel: settings.BENCH_LOG_LEVEL,
      redisUrl: redisServer.url,
      env: { ...sims.env, CALL_HOLD_POLICY: 'metered', CALL_HOLD_SECONDS: String(slice), CALL_MIN_BALANCE: String(sliceCost) },
    });
    const children: ChildHandle[] = [];
    const client: JsonClient[] = [];
    const noop = createRedis({ url: redisServer.url }, 'fail-fast', 'bench-capacity-noop') as NoopRenew;
    noop.defineCommand('benchCapacityNoop', { numberOfKeys: 4, lua: 'return 1' });
    try {
      const app = await startChild('app', world.env);
      children.push(app);
      const workers = await startChild('workers', world.env);
      children.push(workers);
      // The node:http anchor of a (one Redis script call on this scenario's Redis), sent the same
      // trickle at the same moments: the latency floor of one request on this machine as it is
      // during each window, beside the gate's admissions.
      const anchor = await startChild('http-redis', world.env);
      children.push(anchor);
      const http = jsonClient(app.url, BULK_CONCURRENCY);
      const anchorHttp = jsonClient(anchor.url, 8);
      client.push(http, anchorHttp);
      const orgs = settings.BENCH_GATE_ORGS;
      const numbers = await gateNumbers(world.services, orgs);
      progress(`${orgs} organisations funded; slice ${slice} s (${sliceCost} per slice, renewal lead ${leadSeconds} s), window ${windowSeconds} s, admissions ${settings.BENCH_CAPACITY_ADMIT_RATE}/s; own redis-server pid ${ownRedisPid ?? 'not found'}`);

      const admit = async (n: GateNumber, callId: string): Promise<void> => {
        const a = await http.post(WEBHOOK, webhookHeaders, assistantRequest(n, callId));
        if (a.status !== 200 || !a.text.includes('"assistantId"')) throw new Error(`not admitted: HTTP ${a.status} ${a.text.slice(0, 120)}`);
      };
      const end = async (n: GateNumber, callId: string): Promise<void> => {
        const a = await http.post(WEBHOOK, webhookHeaders, endedMessage(n, callId));
        if (a.status !== 200) throw new Error(`ended not taken: HTTP ${a.status} ${a.text.slice(0, 120)}`);
      };
      // A first admission, ended at once: the app answers, and the path is warm.
      await admit(numbers[0]!, 'cap-probe');
      await end(numbers[0]!, 'cap-probe');

      const queue = world.services.queues.callMeters;
      const due = world.services.calls.due;

      /** Drops the renewals of ended calls still waiting (due set and delayed jobs), until the meter is idle. */
      async function quiesce(): Promise<void> {
        const deadline = Date.now() + 30_000;
        for (;;) {
          for (const tag of await due.tags()) {
            for (;;) {
              const members = await due.claim(tag, world.services.calls.clock(), 1e12, 60_000, 1000);
              if (members.length === 0) break;
              await due.release(tag, members);
            }
          }
          await queue.drain(true);
          const left = await queue.getJobCountByTypes('active', 'waiting', 'delayed', 'prioritized');
          if (left === 0 && (await due.depth()).entries === 0) return;
          if (Date.now() > deadline) throw new Error(`meter not idle 30 s after the step's calls ended (${left} jobs left)`);
          await sleep(200);
        }
      }

      /**
       * Redis's used_memory without BullMQ's bounded histories (the last 1,000 completed jobs, the
       * last ~10,000 events): both fill within the first step and would otherwise count as a cost
       * of that step's calls. Nothing in the service reads either (no QueueEvents).
       */
      async function liveMemory(): Promise<number> {
        await queue.clean(0, 1_000_000, 'completed');
        await queue.trimEvents(0);
        return usedMemory(world.services.redis);
      }

      /** CPU of the workers process, this scenario's Redis and its Postgres processes, from now until the returned function is called. */
      async function cpuSpan(): Promise<() => Promise<{ cpu: CpuMs | undefined; appMs: number; seconds: number }>> {
        const storesBefore = await world.stores();
        const c0 = sampleCpu(workers.pid, storesBefore);
        const a0 = procCpuMs(app.pid);
        const t0 = Date.now();
        return async () => {
          return { cpu: cpuBetween(c0, sampleCpu(workers.pid, eitherStore(storesBefore, await world.stores()))), appMs: procCpuMs(app.pid) - a0, seconds: (Date.now() - t0) / 1000 };
        };
      }

      /**
       * The steady trickle of admissions for one window, each ending the oldest call of `live`
       * (status-update "ended"), so the number of live calls stays what it was. Admission latency
       * only; the ends are awaited at the end.
       */
      async function trickle(tag: string, first: number, live: Array<{ number: GateNumber; callId: string }>, seconds = windowSeconds): Promise<{ m: Measurement; anchor: Measurement; errors: number; firstError?: string }> {
        const ends: Array<Promise<void>> = [];
        let endErrors = 0;
        const anchorRun = runOpenLoop(
          {
            label: `${tag} anchor`,
            ratePerSecond: settings.BENCH_CAPACITY_ADMIT_RATE,
            durationSeconds: seconds,
            op: async (i) => {
              const a = await anchorHttp.post(WEBHOOK, webhookHeaders, assistantRequest(numbers[(first + i) % numbers.length]!, `${tag}-a${i}`));
              if (a.status !== 200) throw new Error(`anchor answered HTTP ${a.status}`);
            },
          },
          () => undefined,
        );
        const r = await runOpenLoop(
          {
            label: `${tag} admissions`,
            ratePerSecond: settings.BENCH_CAPACITY_ADMIT_RATE,
            durationSeconds: seconds,
            op: async (i) => {
              const c = { number: numbers[(first + i) % numbers.length]!, callId: `${tag}-t${i}` };
              await admit(c.number, c.callId);
              live.push(c);
              const oldest = live.shift()!;
              ends.push(end(oldest.number, oldest.callId).catch(() => void endErrors++));
            },
          },
          progress,
        );
        const a = await anchorRun;
        await Promise.all(ends);
        const measurement = (label: string, x: OpenLoopResult): Measurement => ({
          label,
          throughput: x.done / x.seconds,
          unit: 'req/s',
          p50Ms: x.done > 0 ? x.histogram.getValueAtPercentile(50) / 1000 : Number.NaN,
          p99Ms: x.done > 0 ? x.histogram.getValueAtPercentile(99) / 1000 : Number.NaN,
          count: x.done,
          errors: x.errors,
          durationSeconds: x.seconds,
        });
        return {
          m: measurement(`admissions at ${settings.BENCH_CAPACITY_ADMIT_RATE}/s during the window (HTTP)`, r),
          anchor: measurement('node:http + one Redis script call, same rate and moments', a),
          errors: r.errors + endErrors + a.errors,
          ...(r.firstError ? { firstError: r.firstError } : {}),
        };
      }

      // Idle: what the workers, Redis and Postgres cost with nothing live (pollers, pump, outbox),
      // so that a step's CPU per renewal can be read with and without it.
      const idleSpan = await cpuSpan();
      await sleep(IDLE_SECONDS * 1000);
      const idle = await idleSpan();
      const idleRate = (ms: number) => ms / idle.seconds; // ms of CPU per second
      const idlePerSecond: CpuMs | undefined = idle.cpu && { server: idleRate(idle.cpu.server), redis: idleRate(idle.cpu.redis), postgres: idleRate(idle.cpu.postgres), load: idleRate(idle.cpu.load) };
      // The same trickle with no live calls, for one slice: how admissions fare on this machine as
      // it is now, whatever the steps add.
      const referenceLive = [{ number: numbers[1 % numbers.length]!, callId: 'cap0-seed' }];
      await admit(referenceLive[0]!.number, referenceLive[0]!.callId);
      const reference = await trickle('cap0', 0, referenceLive, slice);
      await Promise.all(referenceLive.map((c) => end(c.number, c.callId)));
      await quiesce();
      const referenceLine = `reference, no live calls: ${reference.m.count} admissions at ${settings.BENCH_CAPACITY_ADMIT_RATE}/s, p50 ${reference.m.p50Ms.toFixed(1)} / p99 ${reference.m.p99Ms.toFixed(1)} ms (the node:http anchor at the same moments: p50 ${reference.anchor.p50Ms.toFixed(1)} / p99 ${reference.anchor.p99Ms.toFixed(1)} ms); idle CPU (ms per s, ${IDLE_SECONDS} s): workers ${idleRate(idle.cpu?.server ?? 0).toFixed(1)}, Redis ${idleRate(idle.cpu?.redis ?? 0).toFixed(1)}, Postgres ${idleRate(idle.cpu?.postgres ?? 0).toFixed(1)}`;
      progress(referenceLine);

      async function step(n: number): Promise<StepResult> {
        const tag = `cap${n}`;
        const live: Array<{ number: GateNumber; callId: string }> = [];
        for (let i = 0; i < n; i++) live.push({ number: numbers[i % numbers.length]!, callId: `${tag}-${i}` });
        const memBefore = await liveMemory();

        // Spread over one slice, open loop, as calls arrive at random moments: the renewals then
        // come evenly (about N per slice). Admitted as fast as possible, all N would fall due
        // together every slice, a burst each time (the first version did: 500 calls admitted in
        // 0.7 s ran up to 1 s late at 56 renewals/s on average).
        const t0 = Date.now();
        const bulk = await runOpenLoop({ label: `${tag} admitting`, ratePerSecond: n / slice, durationSeconds: slice, op: (i) => admit(live[i]!.number, live[i]!.callId) }, progress);
        const admitSeconds = (Date.now() - t0) / 1000;
        if (bulk.errors > 0 || bulk.started !== n) throw new Error(`${bulk.errors} of ${bulk.started} admissions failed (${n} meant): ${bulk.firstError ?? ''}`);
        progress(`N=${n}: admitted over ${admitSeconds.toFixed(1)} s (${Math.round(n / admitSeconds)}/s, p99 ${(bulk.histogram.getValueAtPercentile(99) / 1000).toFixed(1)} ms); every call in its renewal cycle in ${slice - leadSeconds} s`);
        // Every call's first renewal is due slice − lead after its admission: from then on the
        // renewals run at their steady rate.
        await sleep((slice - leadSeconds) * 1000);
        // N live, each with its hold entry and its next renewal's job (the due set drained).
        const memWith = await liveMemory();

        // The window.
        const span = await cpuSpan();
        await workers.meterWindow('start');
        const w0 = Date.now();
        const admissions = await trickle(tag, n, live);
        const rest = windowSeconds * 1000 - (Date.now() - w0);
        if (rest > 0) await sleep(rest);
        const window = await workers.meterWindow('read');
        const { cpu, appMs, seconds } = await span();
        // What the workers' maintenance queue ran in the window (the sweeps): a stall in the
        // lateness timeline can then be set beside them.
        const w1 = Date.now();
        const maintenance = (await world.services.queues.maintenance.getJobs(['completed', 'failed', 'active'], 0, 200))
          .filter((j) => j.processedOn !== undefined && j.processedOn >= w0 && j.processedOn <= w1)
          .map((j) => `${j.name} at ${((j.processedOn! - w0) / 1000).toFixed(1)} s for ${j.finishedOn === undefined ? '?' : j.finishedOn - j.processedOn!} ms`);

        const lateness: Measurement = {
          label: `renewals, ${n} live calls (p50/p99 = lateness)`,
          throughput: window.renewals / seconds,
          unit: 'ops/s',
          p50Ms: window.p50Ms ?? Number.NaN,
          p99Ms: window.p99Ms ?? Number.NaN,
          count: window.renewals,
          errors: window.failures,
          durationSeconds: seconds,
          ...(cpu ? { cpu } : {}),
        };

        // Every call of the step ends; its renewals still waiting go.
        const e0 = Date.now();
        const ended = await submitAll(live.length, BULK_CONCURRENCY, (i) => end(live[i]!.number, live[i]!.callId));
        await quiesce();
        progress(`N=${n}: ${live.length} calls ended and the meter idle in ${((Date.now() - e0) / 1000).toFixed(1)} s`);

        const renewedOk = (window.outcomes.renewed ?? 0) + (window.outcomes.ended ?? 0);
        const finished = Object.values(window.outcomes).reduce((a, b) => a + b, 0);
        const checks = [
          check(admissions.errors === 0, `N=${n}: ${admissions.m.count} trickle admissions admitted and their ends taken, ${admissions.errors} failed${admissions.firstError ? ` (${admissions.firstError})` : ''}`),
          check(ended.errors === 0, `N=${n}: every call's "ended" taken (${ended.errors} failed${ended.firstError ? `: ${ended.firstError}` : ''})`),
          check(window.failures === 0 && renewedOk === finished, `N=${n}: meter steps in the window: ${tally(window.outcomes)}; ${window.failures} threw (renewed, or ended by the trickle, expected)`),
          check(window.metricCount >= window.steps, `N=${n}: billing_gates_call_renewal_lateness_seconds counted ${window.metricCount} steps, the probe ${window.steps}`),
        ];
        const renewalsHeld = checks.every((c) => c.ok) && lateness.p99Ms < LATENESS_P99_BELOW_MS;
        const pass = renewalsHeld && admissions.m.p99Ms < ADMISSION_P99_BELOW_MS;
        return { n, admitSeconds, window, maintenance, windowSeconds: seconds, lateness, admissions: admissions.m, anchor: admissions.anchor, cpu, appCpuMs: appMs, memBefore, memWith, renewalsHeld, pass, checks };
      }

      const steps: StepResult[] = [];
      let stopped = 'every step ran';
      // A step takes a slice to admit, slice − lead to settle, the window, and a few seconds to
      // end its calls; the baseline takes one window. No step starts that would not end, with the
      // baseline, within the budget.
      const stepSeconds = slice + (slice - leadSeconds) + windowSeconds + 5;
      for (const n of settings.capacitySteps) {
        const elapsed = (Date.now() - started) / 1000;
        if (elapsed + stepSeconds + windowSeconds > settings.BENCH_CAPACITY_BUDGET_SECONDS) {
          stopped = `time budget: N=${n} not started (${Math.round(elapsed)} s spent, a step takes ≈ ${stepSeconds} s and the baseline ${windowSeconds} s, BENCH_CAPACITY_BUDGET_SECONDS=${settings.BENCH_CAPACITY_BUDGET_SECONDS})`;
          break;
        }
        const r = await step(n);
        steps.push(r);
        progress(stepLine(r, renewalInterval, idlePerSecond));
        if (settings.BENCH_CAPACITY_STOP_ON === 'lateness' ? !r.renewalsHeld : !r.pass) {
          stopped = `stopped after the first miss (N=${n}; BENCH_CAPACITY_STOP_ON=${settings.BENCH_CAPACITY_STOP_ON})`;
          break;
        }
      }
      // The largest N that passed, below the first that missed (a later pass after a miss, with
      // BENCH_CAPACITY_STOP_ON=lateness, is luck on a shared machine, not capacity).
      const firstMiss = steps.findIndex((x) => !x.pass);
      const best = (firstMiss < 0 ? steps : steps.slice(0, firstMiss)).at(-1);
      const firstLate = steps.findIndex((x) => !x.renewalsHeld);
      const renewalsBest = (firstLate < 0 ? steps : steps.slice(0, firstLate)).at(-1);
      const beside = best ?? steps[0];
      if (!beside) throw new Error('no capacity step ran');

      // The baseline: as many bare EVALSHA calls (4 keys, 7 arguments) at the same rate.
      const rate = beside.window.renewals / beside.windowSeconds;
      const { keys } = world.services;
      const ratePerMinute = world.services.config.pricing.callRatePerMinute;
      const baselineKeys = numbers.map((x) => {
        const holds = keys.holds(x.orgId);
        return [keys.wallet(x.orgId), holds, `${holds}:expiry`, `${holds}:sum`];
      });
      const storesB = await world.stores();
      const b0 = sampleCpu(workers.pid, storesB);
      const bare = await runOpenLoop(
        {
          label: `bare Lua at ${Math.round(rate)}/s`,
          ratePerSecond: rate,
          durationSeconds: beside.windowSeconds,
          op: async (i) => {
            const r = await noop.benchCapacityNoop(...baselineKeys[i % baselineKeys.length]!, `bare-${i}`, Date.now(), 2, sliceCost, ratePerMinute, 0, slice);
            if (r !== 1) throw new Error(`no-op script returned ${String(r)}`);
          },
        },
        progress,
      );
      const bCpu = cpuBetween(b0, sampleCpu(workers.pid, storesB));
      const baseline: Measurement = {
        label: 'EVALSHA of `return 1` (4 keys, 7 args), same count and rate',
        throughput: bare.done / bare.seconds,
        unit: 'ops/s',
        p50Ms: bare.histogram.getValueAtPercentile(50) / 1000,
        p99Ms: bare.histogram.getValueAtPercentile(99) / 1000,
        count: bare.done,
        errors: bare.errors,
        durationSeconds: bare.seconds,
        ...(bCpu ? { cpu: bCpu } : {}),
      };

      const allChecks = [...steps.flatMap((s) => s.checks), ...(await walletChecks(world, numbers.map((x) => x.orgId), { redis: true }))];
      const checks = reportChecks(allChecks, progress);
      const bareCpu =
        bCpu && idlePerSecond
          ? `Redis ${us(bCpu.redis, bare.done)} (less idle ${us(bCpu.redis - idlePerSecond.redis * bare.seconds, bare.done)}) + caller (this process, with its 5 ms tick) ${us(bCpu.load, bare.done)} µs per call`
          : 'n/a (no /proc)';
      const verdict = best
        ? `largest N with renewal lateness p99 < 1 s and admission p99 < 10 ms: ${best.n} live calls (${(best.n / renewalInterval).toFixed(0)} renewals/s due at ${slice} s slices)`
        : `no step met both bounds (smallest tried: ${steps[0]!.n})`;
      const renewalsVerdict = renewalsBest
        ? `largest N with renewal lateness p99 < 1 s (admissions aside): ${renewalsBest.n}${firstLate < 0 ? ' (no step tried missed it)' : ''}`
        : `renewal lateness p99 ≥ 1 s already at N=${steps[0]!.n}`;
      const also: ExtraResult[] = steps.map((s) => ({
        name: `i-capacity-${s.n}`,
        title: `${s.n} live calls over ${orgs} organisations, ${slice} s slices: renewal lateness and admissions in one ${Math.round(s.windowSeconds)} s window`,
        target: STEP_TARGET,
        subject: s.lateness,
        baseline: s.admissions,
        notes: [stepLine(s, renewalInterval, idlePerSecond)],
      }));
      return {
        subject: { ...beside.lateness, label: `renewals at N=${beside.n} (p50/p99 = lateness)` },
        baseline,
        notes: [
          verdict,
          renewalsVerdict,
          stopped,
          `baseline beside N=${beside.n}: ${bare.done} bare EVALSHA at ${Math.round(rate)}/s (open loop), p50 ${baseline.p50Ms.toFixed(2)} / p99 ${baseline.p99Ms.toFixed(2)} ms, CPU ${bareCpu}`,
          `setup: ${orgs} organisations, slice ${slice} s (CALL_HOLD_SECONDS; CALL_MIN_BALANCE ${sliceCost} = one slice), renewal lead ${leadSeconds} s, window ${windowSeconds} s from the moment every call is in its renewal cycle, admissions ${settings.BENCH_CAPACITY_ADMIT_RATE}/s each ending the oldest call; one app process, one workers process (meter concurrency 50), own redis-server`,
          referenceLine,
          ...steps.map((s) => stepLine(s, renewalInterval, idlePerSecond)),
          ...checks,
        ],
        also,
      };
    } finally {
      for (const c of client) c.close();
      noop.disconnect();
      await Promise.allSettled(children.map((c) => c.stop()));
      await world.close();
      await redisServer.dispose();
      await sims.close();
    }
  },
};

/**
 * One step's figures on one line (progress, notes, docs); `interval` is the seconds one slice pays
 * for (a call's average time between renewals), `idle` the idle CPU per second, by group.
 */
function stepLine(s: StepResult, interval: number, idle: CpuMs | undefined): string {
  const w = s.window;
  const cpu = s.cpu;
  const total = (c: CpuMs) => c.server + c.redis + c.postgres;
  const less = (ms: number, idleMsPerSecond: number) => ms - idleMsPerSecond * s.windowSeconds;
  const perRenewal = cpu
    ? `CPU per renewal: workers ${us(cpu.server, w.renewals)} + Redis ${us(cpu.redis, w.renewals)} + Postgres ${us(cpu.postgres, w.renewals)} = ${us(total(cpu), w.renewals)} µs` +
      (idle ? ` (less idle: ${us(less(cpu.server, idle.server), w.renewals)} + ${us(less(cpu.redis, idle.redis), w.renewals)} + ${us(less(cpu.postgres, idle.postgres), w.renewals)} = ${us(less(total(cpu), total(idle)), w.renewals)} µs)` : '') +
      `; over the window the app spent ${Math.round(s.appCpuMs)} ms and this process ${Math.round(cpu.load)} ms (admissions, ends)`
    : 'CPU n/a (no /proc)';
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  return [
    `N=${s.n} ${s.pass ? 'PASS' : 'MISS'}:`,
    `admitted over ${s.admitSeconds.toFixed(1)} s;`,
    `${w.renewals} meter steps in ${s.windowSeconds.toFixed(1)} s = ${(w.renewals / s.windowSeconds).toFixed(0)}/s (N ÷ ${interval.toFixed(2)} s = ${(s.n / interval).toFixed(0)}/s due: ${((w.renewals / s.windowSeconds / (s.n / interval)) * 100).toFixed(0)}%),`,
    `lateness p50 ${fmt(s.lateness.p50Ms)} / p99 ${fmt(s.lateness.p99Ms)} / max ${fmt(w.maxMs)} ms, ${w.lateOver1s} ≥ 1 s;`,
    `admissions ${s.admissions.count} p50 ${fmt(s.admissions.p50Ms)} / p99 ${fmt(s.admissions.p99Ms)} ms (node:http anchor, same moments: p50 ${fmt(s.anchor.p50Ms)} / p99 ${fmt(s.anchor.p99Ms)} ms);`,
    `${perRenewal};`,
    `Redis used_memory ${kb(s.memBefore)} → ${kb(s.memWith)} with N live: ${Math.round((s.memWith - s.memBefore) / s.n)} B per live call;`,
    `seconds of the window whose worst lateness was ≥ 250 ms: ${
      w.worstBySecond
        .map((ms, second) => ({ ms, second }))
        .filter((x) => x.ms >= 250)
        .map((x) => `${x.second} s (${Math.round(x.ms)} ms)`)
        .join(', ') || 'none'
    }; maintenance jobs run: ${s.maintenance.join(', ') || 'none'}`,
  ].join(' ');
}
