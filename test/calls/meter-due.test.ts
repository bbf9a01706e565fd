// Proves the due set of first renewals (issue 15) against real Redis, Postgres and BullMQ: a
// metered admission on the Redis path writes exactly one due entry carrying its renewal job, in
// its own Lua step (none under full, none for a refused or repeated request, none for a hold
// that already pays for the whole call); the meter pump turns due entries into the same delayed
// `renew` jobs the meter always used and removes them, leaving later ones alone; an entry whose
// pump died after claiming it is pumped again once its lease runs out, as one job; two pumps at
// once never take one entry twice; a run claims from every due key the index names (they are
// sharded by hash slot), not only the first; and the meter sweep counts a waiting due entry as
// present.
import { Queue } from 'bullmq';
import { createMeterDue, dueMember, parseDueMember } from '../../shared/calls/meter-due';
import { createRedis, tagOfSlot, waitForRedis, type RedisClient } from '../../shared/redis';
import { jobIds, meterJobOptions, QUEUE_NAMES, type CallMeterJob } from '../../shared/queues/queues';
import { meterPumpDeps, METER_PUMP_DEFAULTS, METER_PUMP_SPREAD, pumpDueMeters, pumpPartOf, PumpRunError, type MeterPumpDeps, type MeterPumpOptions } from '../../workers/meter-pump';
import { meterSweepDeps, sweepMeters } from '../../workers/meter-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { admitMeteredAt, allDueEntries, createCachedOrg } from '../support/meter-due';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

describe('due set of first renewals', () => {
  let ctx: TestContext;
  let full: TestContext;
  beforeAll(async () => {
    [ctx, full] = await Promise.all([createTestContext(), createTestContext({ CALL_HOLD_POLICY: 'full' })]);
  });
  afterAll(async () => Promise.all([ctx.close(), full.close()]));

  // Every entry of every indexed due key (the sets are sharded by slot), as the pump sees them.
  const dueEntries = async (c: TestContext) => (await allDueEntries(c.services.redis, c.services.keys)).map(({ member, score }) => ({ member, score }));
  const dueFor = async (c: TestContext, callId: string) => (await dueEntries(c)).filter((e) => parseDueMember(e.member)?.callId === callId);
  const holdOf = async (c: TestContext, orgId: string, callId: string) => {
    const [state, amount, maxd, expires, admitted, cap, slices] = ((await c.services.redis.hget(c.services.keys.holds(orgId), callId)) ?? '').split('|');
    return { state, amount: Number(amount), maxd: Number(maxd), expires: Number(expires), admitted: Number(admitted), cap: Number(cap), slices: Number(slices) };
  };

  describe('written by the admission', () => {
    it('writes exactly one due entry, carrying the slice-2 renewal job, for a metered admission on the Redis path (call ids may hold pipes)', async () => {
      const orgId = await createFundedOrg(ctx.services, 1000);
      const num = await registerNumber(ctx.services, orgId);
      const callId = 'due|a|pipes';
      const res = await postWebhook(ctx.app(), assistantRequest(num, callId));
      expect(res.body.assistantId).toBe(num.assistantId);
      const h = await holdOf(ctx, orgId, callId);
      expect([h.state, h.amount, h.slices]).toEqual(['h', 112, 1]);
      const entries = await dueFor(ctx, callId);
      expect(entries).toHaveLength(1);
      // 112 at 56/min pays 120 s; the renewal is due 30 s (a quarter slice) before they run out.
      const dueAtMs = h.admitted + 120_000 - 30_000;
      const job: CallMeterJob = { kind: 'renew', orgId, callId, slice: 2, admittedAtMs: h.admitted, maxDurationSeconds: h.maxd, expiresAtMs: h.expires, cap: h.cap, dueAtMs };
      expect(parseDueMember(entries[0]?.member ?? '')).toEqual(job);
      expect(entries[0]?.member).toBe(dueMember(job));
      expect(entries[0]?.score).toBe(dueAtMs);
      // The API scheduled no BullMQ job of its own.
      expect(await ctx.services.queues.callMeters.getJob(jobIds.meter(callId, 2))).toBeUndefined();

      // The same call asking again finds its entry: no second hold, no second due entry.
      expect((await postWebhook(ctx.app(), assistantRequest(num, callId))).body.assistantId).toBe(num.assistantId);
      expect(await dueFor(ctx, callId)).toHaveLength(1);
    });

    it('writes none for a refused call, nor for a hold that already pays for the whole call', async () => {
      const orgId = await createFundedOrg(ctx.services, 100);
      const num = await registerNumber(ctx.services, orgId);
      // 100 grants 102 s, whose cost (96) is less than a slice: the hold is capped at admission.
      expect((await postWebhook(ctx.app(), assistantRequest(num, 'due-capped'))).body.assistantId).toBe(num.assistantId);
      expect((await holdOf(ctx, orgId, 'due-capped')).amount).toBe(96);
      expect((await postWebhook(ctx.app(), assistantRequest(num, 'due-refused'))).body.error).toMatch(/credit/);
      expect(await dueFor(ctx, 'due-capped')).toEqual([]);
      expect(await dueFor(ctx, 'due-refused')).toEqual([]);
    });

    it('writes none under the full policy', async () => {
      const orgId = await createFundedOrg(full.services, 1000);
      const num = await registerNumber(full.services, orgId);
      expect((await postWebhook(full.app(), assistantRequest(num, 'due-full'))).body.assistantId).toBe(num.assistantId);
      expect((await holdOf(full, orgId, 'due-full')).state).toBe('h');
      expect(await dueEntries(full)).toEqual([]);
    });
  });

  describe('the meter sweep', () => {
    it('counts a renewal waiting in the due set as present (indexing its key again), and creates the job once neither exists', async () => {
      const orgId = await createFundedOrg(ctx.services, 1000);
      const num = await registerNumber(ctx.services, orgId);
      expect((await postWebhook(ctx.app(), assistantRequest(num, 'sweep-due'))).body.assistantId).toBe(num.assistantId);
      const open = await eventually(async () => (await ctx.services.calls.store.openMeters(null, 1000)).find((c) => c.hold.call_id === 'sweep-due'));
      const [entry] = await dueFor(ctx, 'sweep-due');
      expect(entry).toBeDefined();

      // Postgres's record of the hold names the same entry the admission wrote.
      expect(await ctx.services.calls.meters.ensure(open.org_id, open.hold, open.held_seconds ?? 0)).toBe('present');
      expect((await sweepMeters(meterSweepDeps(ctx.services))).metersCreated).toBe(0);
      expect(await ctx.services.queues.callMeters.getJob(jobIds.meter('sweep-due', 2))).toBeUndefined();

      // Claimed by a pump (leased) it is still waiting.
      await ctx.services.redis.zadd(ctx.services.keys.meterDue(orgId), 'XX', Date.now() + 30_000, entry?.member ?? '');
      expect(await ctx.services.calls.meters.ensure(open.org_id, open.hold, open.held_seconds ?? 0)).toBe('present');

      // An index that lost the key's tag (a failover, a delete) gets it back from the sweep, so the
      // renewal it counts as present is one the pump can find.
      const { keys, redis } = ctx.services;
      await redis.zrem(keys.meterDueIndex, keys.meterDueTag(orgId));
      expect(await ctx.services.calls.meters.ensure(open.org_id, open.hold, open.held_seconds ?? 0)).toBe('present');
      expect(await redis.zscore(keys.meterDueIndex, keys.meterDueTag(orgId))).not.toBeNull();

      await ctx.services.redis.zrem(ctx.services.keys.meterDue(orgId), entry?.member ?? '');
      expect(await ctx.services.calls.meters.ensure(open.org_id, open.hold, open.held_seconds ?? 0)).toBe('created');
      expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('sweep-due', 2)))?.data).toEqual(parseDueMember(entry?.member ?? ''));
    });
  });
  describe('the meter pump', () => {
    beforeEach(async () => {
      const { redis, keys } = ctx.services;
      // The due keys are emptied; the index stays, as in the service (whose admissions do not
      // index a tag again within INDEX_MEMO_MS of indexing it, and whose prune removes only a tag
      // idle far longer than that: no meter sweep runs here).
      await Promise.all((await ctx.services.calls.due.tags()).map((tag) => redis.del(keys.meterDueOfTag(tag))));
      await ctx.services.queues.callMeters.obliterate({ force: true });
    });
    const at = (clockMs: number): MeterPumpDeps => ({ ...meterPumpDeps(ctx.services), clock: () => clockMs });
    const admit = (orgId: string, callId: string, nowMs: number) => admitMeteredAt(ctx.services, orgId, callId, nowMs);
    const fundedCachedOrg = (balance: number) => createCachedOrg(ctx.services, balance);

    it('turns entries due within the horizon into delayed renew jobs (id, delay, data) and removes them; later entries stay', async () => {
      const orgId = await fundedCachedOrg(10_000);
      const t0 = Date.now();
      const soon = await admit(orgId, 'pump-soon', t0);
      const later = await admit(orgId, 'pump-later', t0 + 10_000);
      expect(later.job.dueAtMs - soon.job.dueAtMs).toBe(10_000);

      // 1.5 s before the first is due: it is taken (horizon 2 s), the one due 10 s later is not.
      const now = soon.job.dueAtMs - 1500;
      expect(await pumpDueMeters(at(now))).toBe(1);
      const job = await ctx.services.queues.callMeters.getJob(jobIds.meter('pump-soon', 2));
      expect(job?.name).toBe('renew');
      expect(job?.data).toEqual(soon.job);
      const expected = meterJobOptions(jobIds.meter('pump-soon', 2), 1500);
      expect(job?.opts).toMatchObject({ delay: 1500, attempts: expected.attempts, backoff: expected.backoff });
      expect(await job?.getState()).toBe('delayed');
      expect((await dueEntries(ctx)).map((e) => e.member)).toEqual([later.member]);
      expect(await ctx.services.queues.callMeters.getJob(jobIds.meter('pump-later', 2))).toBeUndefined();

      // An overdue entry becomes a job due at once.
      expect(await pumpDueMeters(at(later.job.dueAtMs + 5000))).toBe(1);
      const overdue = await ctx.services.queues.callMeters.getJob(jobIds.meter('pump-later', 2));
      expect(overdue?.data).toEqual(later.job);
      expect(overdue?.opts.delay ?? 0).toBe(0);
      expect(await dueEntries(ctx)).toEqual([]);
      const m = await ctx.services.metrics.meterPumped.get();
      expect(m.values[0]?.value).toBeGreaterThanOrEqual(2);
    });

    it('pumps again, once its lease runs out, an entry whose pump died after claiming it — one job, even if the dead pump had added it', async () => {
      const orgId = await fundedCachedOrg(10_000);
      const t0 = Date.now();
      const lost = await admit(orgId, 'lease-lost', t0);
      const added = await admit(orgId, 'lease-added', t0);
      const due = ctx.services.calls.due;
      const { horizonMs, leaseMs } = METER_PUMP_DEFAULTS;
      const claimAt = lost.job.dueAtMs - 1000;
      // A pump claims both and dies: before its addBulk for one, after it (before its ZREM) for the other.
      expect((await due.claim(ctx.services.keys.meterDueTag(orgId), claimAt, horizonMs, leaseMs, 500)).sort()).toEqual([added.member, lost.member].sort());
      await ctx.services.queues.callMeters.add('renew', added.job, meterJobOptions(jobIds.meter('lease-added', 2), 1000));

      // Within the lease no other pump takes them.
      expect(await pumpDueMeters(at(claimAt + leaseMs - horizonMs - 1))).toBe(0);
      expect(await ctx.services.queues.callMeters.getJob(jobIds.meter('lease-lost', 2))).toBeUndefined();
      // After it, both are pumped; the job already added stays the one job for its entry.
      expect(await pumpDueMeters(at(claimAt + leaseMs + 1))).toBe(2);
      expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('lease-lost', 2)))?.data).toEqual(lost.job);
      expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('lease-added', 2)))?.data).toEqual(added.job);
      expect(await ctx.services.queues.callMeters.getJobCountByTypes('delayed', 'waiting')).toBe(2);
      expect(await dueEntries(ctx)).toEqual([]);
    });

    it('claims from every indexed due key in one run: renewals in keys other than the first indexed one are pumped, full keys again until drained', async () => {
      const { keys, redis } = ctx.services;
      // Five organisations, in five slots: five due keys (sharded by slot), each indexed by its admission.
      const orgs: string[] = [];
      while (orgs.length < 5) {
        const orgId = await fundedCachedOrg(10_000);
        if (!orgs.some((o) => keys.meterDueTag(o) === keys.meterDueTag(orgId))) orgs.push(orgId);
      }
      const t0 = Date.now();
      const admitted = new Map<string, { member: string; job: CallMeterJob }>();
      for (const [i, orgId] of orgs.entries()) admitted.set(`spread-${i}`, await admit(orgId, `spread-${i}`, t0));
      // The index lists these five keys (and those of earlier tests' organisations, emptied).
      const ours = new Set(orgs.map((o) => keys.meterDueTag(o)));
      const tags = await redis.zrange(keys.meterDueIndex, 0, -1);
      expect(tags).toEqual(expect.arrayContaining([...ours]));
      // Of ours, the key the index lists last holds two more renewals, so with one entry per claim
      // it is claimed three times in the run.
      const lastTag = tags.filter((t) => ours.has(t)).at(-1);
      const lastOrg = orgs.find((o) => keys.meterDueTag(o) === lastTag) ?? '';
      admitted.set('spread-last-a', await admit(lastOrg, 'spread-last-a', t0));
      admitted.set('spread-last-b', await admit(lastOrg, 'spread-last-b', t0));
      expect(tags[0]).not.toBe(keys.meterDueTag(lastOrg));

      const now = (admitted.get('spread-0')?.job.dueAtMs ?? 0) - 1000;
      expect(await pumpDueMeters(at(now), { ...METER_PUMP_DEFAULTS, batch: 1 })).toBe(7);
      for (const [callId, { job }] of admitted) expect((await ctx.services.queues.callMeters.getJob(jobIds.meter(callId, 2)))?.data).toEqual(job);
      expect(await dueEntries(ctx)).toEqual([]);
    });

    it('a due key that fails does not hold up the others: their renewals are pumped, the run reports the failed step', async () => {
      const { keys, redis } = ctx.services;
      const [a, b] = [await fundedCachedOrg(10_000), await fundedCachedOrg(10_000)];
      const t0 = Date.now();
      const first = await admit(a, 'fails-beside-a', t0);
      const second = await admit(b, 'fails-beside-b', t0);
      // A real failure of one key's claim: an indexed "due key" that is not a sorted set (WRONGTYPE).
      const broken = ['0', '1', '2'].find((t) => t !== keys.meterDueTag(a) && t !== keys.meterDueTag(b)) ?? '';
      await redis.zadd(keys.meterDueIndex, Date.now(), broken);
      await redis.set(keys.meterDueOfTag(broken), 'not a sorted set');
      try {
        const run = pumpDueMeters(at(first.job.dueAtMs - 1000));
        await expect(run).rejects.toBeInstanceOf(PumpRunError);
        const err = (await run.catch((e: unknown) => e)) as PumpRunError;
        expect(err.failures.map((f) => f.step)).toEqual(['claim']);
        expect(err.pumped).toBe(2);
        expect(err.nothingWorked).toBe(false);
        expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('fails-beside-a', 2)))?.data).toEqual(first.job);
        expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('fails-beside-b', 2)))?.data).toEqual(second.job);
      } finally {
        await redis.del(keys.meterDueOfTag(broken));
      }
    });

    it('two pumps at once never take one entry twice: 600 entries, each claimed once, 600 jobs', async () => {
      const { keys } = ctx.services;
      const now = Date.now();
      const jobs: CallMeterJob[] = Array.from({ length: 600 }, (_, i) => ({
        kind: 'renew',
        orgId: '00000000-0000-4000-8000-000000000001',
        callId: `race-${i}`,
        slice: 2,
        admittedAtMs: now - 90_000,
        maxDurationSeconds: 600,
        expiresAtMs: now + 900_000,
        cap: 560,
        dueAtMs: now + (i % 7) * 100,
      }));
      const raceOrg = '00000000-0000-4000-8000-000000000001';
      await ctx.services.redis.zadd(keys.meterDueIndex, Date.now(), keys.meterDueTag(raceOrg));
      await ctx.services.redis.zadd(keys.meterDue(raceOrg), ...jobs.flatMap((j) => [j.dueAtMs, dueMember(j)]));

      // The second pump has its own connections, so the two really run side by side.
      const redis2: RedisClient = createRedis(ctx.config.redis, 'fail-fast', 'test-pump-2');
      await waitForRedis(redis2, 5000);
      const queue2 = new Queue<CallMeterJob>(QUEUE_NAMES.callMeters, { connection: redis2, prefix: keys.bullPrefixFor(QUEUE_NAMES.callMeters) });
      try {
        const small: MeterPumpOptions = { ...METER_PUMP_DEFAULTS, batch: 10 };
        const one = at(now);
        const two: MeterPumpDeps = { ...one, due: createMeterDue(redis2, keys), queues: { callMeters: queue2 } };
        // Several runs each, interleaved, as the timers of two worker processes would run them.
        const runs = async (d: MeterPumpDeps) => {
          let pumped = 0;
          for (let r = 0; r < 4; r++) pumped += await pumpDueMeters(d, small);
          return pumped;
        };
        const [byOne, byTwo] = await Promise.all([runs(one), runs(two)]);
        // Both took part, and together they pumped each entry exactly once.
        expect(byOne).toBeGreaterThan(0);
        expect(byTwo).toBeGreaterThan(0);
        expect(byOne + byTwo).toBe(600);
        expect(await ctx.services.queues.callMeters.getJobCountByTypes('delayed', 'waiting')).toBe(600);
        expect(await dueEntries(ctx)).toEqual([]);
      } finally {
        await queue2.close();
        redis2.disconnect();
      }
    });
  });

});

describe('the running pump visits a part of the due keys per run', () => {
  it('puts every tag in exactly one part, the same each time, and spreads the slot table over all parts', () => {
    const tags = Array.from({ length: 16_384 }, (_, i) => tagOfSlot(i));
    const counts = new Array<number>(METER_PUMP_SPREAD).fill(0);
    for (const tag of tags) {
      const part = pumpPartOf(tag, METER_PUMP_SPREAD);
      expect(part).toBe(pumpPartOf(tag, METER_PUMP_SPREAD));
      counts[part]! += 1;
    }
    // Roughly a quarter each: no part is left empty, none carries half the keys.
    for (const n of counts) expect(n).toBeGreaterThan(16_384 / METER_PUMP_SPREAD / 2);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(16_384);
  });
});
