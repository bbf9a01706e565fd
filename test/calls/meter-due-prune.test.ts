// Proves the meter sweep's prune of the due index (shared/calls/meter-due.ts prune()) against real
// Redis and Postgres: a pass removes a tag whose due key is empty and that no one has indexed for
// DUE_INDEX_IDLE_MS, and counts it; it keeps a tag whose key holds an entry however old its
// score, and one indexed within the window; a tag indexed again between the prune's reads and its
// removal (an admission in between) is kept, and that admission's renewal is pumped; after a
// prune, an admission in the same process indexes the key again, so its renewal is pumped; and a
// prune that fails is logged and counted without failing the pass. The gate's clock is moved
// forward, as time passing would, where a test needs a tag to go idle.
import { Writable } from 'node:stream';
import { DUE_INDEX_IDLE_MS, parseDueMember } from '../../shared/calls/meter-due';
import { INDEX_MEMO_MS } from '../../shared/calls/redis-holds';
import { createLogger } from '../../shared/logger';
import { jobIds } from '../../shared/queues/queues';
import { tagOfSlot } from '../../shared/redis';
import { meterPumpDeps, pumpDueMeters, type MeterPumpDeps } from '../../workers/meter-pump';
import { meterSweepDeps, sweepMeters, type MeterSweepSummary } from '../../workers/meter-sweeper';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { admitMeteredAt, createCachedOrg, dueEntriesOf } from '../support/meter-due';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

describe('the meter sweep prunes the due index', () => {
  let ctx: TestContext;
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  beforeAll(async () => {
    ctx = await createTestContext({}, { clock });
  });
  afterAll(async () => ctx.close());

  const pass = (): Promise<MeterSweepSummary> => sweepMeters(meterSweepDeps(ctx.services));
  const at = (clockMs: number): MeterPumpDeps => ({ ...meterPumpDeps(ctx.services), clock: () => clockMs });
  const pruned = async () => (await ctx.services.metrics.meterDueTagsPruned.get()).values[0]?.value ?? 0;
  const indexScore = async (tag: string) => {
    const score = await ctx.services.redis.zscore(ctx.services.keys.meterDueIndex, tag);
    return score === null ? undefined : Number(score);
  };
  const indexAs = (tag: string, scoreMs: number) => ctx.services.redis.zadd(ctx.services.keys.meterDueIndex, scoreMs, tag);
  const dueFor = (callId: string) => dueEntriesOf(ctx.services, callId);

  /** A metered hold placed at `nowMs` through the real admission step; returns its due entry's job. */
  const admit = async (orgId: string, callId: string, nowMs: number) => (await admitMeteredAt(ctx.services, orgId, callId, nowMs)).job;
  const fundedCachedOrg = (balance: number) => createCachedOrg(ctx.services, balance);

  it('a prune that fails is logged and counted as an error of the pass, which still completes', async () => {
    const { keys, redis } = ctx.services;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    // A real failure: the index is not a sorted set (WRONGTYPE on the prune's read).
    await redis.set(keys.meterDueIndex, 'not a sorted set');
    try {
      const summary = await sweepMeters({ ...meterSweepDeps(ctx.services), log: createLogger('error', {}, sink) });
      expect(summary).toMatchObject({ dueTagsPruned: 0, errors: 1 });
      expect(lines.join('')).toMatch(/could not prune the due index/);
    } finally {
      await redis.del(keys.meterDueIndex);
    }
  });

  it('removes a tag whose due key is empty and that no one has indexed for DUE_INDEX_IDLE_MS, and counts it', async () => {
    const tag = tagOfSlot(100);
    await indexAs(tag, clock() - DUE_INDEX_IDLE_MS - 1000);
    const before = await pruned();
    const summary = await pass();
    expect(summary).toMatchObject({ dueTagsPruned: 1, errors: 0 });
    expect(await indexScore(tag)).toBeUndefined();
    expect((await pruned()) - before).toBe(1);
    // Nothing left to prune: the next pass removes none.
    expect((await pass()).dueTagsPruned).toBe(0);
  });

  it('keeps a tag whose due key still holds an entry, however old its score', async () => {
    const { keys, redis } = ctx.services;
    const tag = tagOfSlot(200);
    await indexAs(tag, 0);
    await redis.zadd(keys.meterDueOfTag(tag), clock() + 3_600_000, 'held-entry');
    try {
      expect((await pass()).dueTagsPruned).toBe(0);
      expect(await indexScore(tag)).toBe(0);
    } finally {
      await Promise.all([redis.del(keys.meterDueOfTag(tag)), redis.zrem(keys.meterDueIndex, tag)]);
    }
  });

  it('keeps a tag with an empty key indexed within DUE_INDEX_IDLE_MS, and removes it once it has been idle that long', async () => {
    const tag = tagOfSlot(300);
    const indexedAtMs = clock() - DUE_INDEX_IDLE_MS + 30_000;
    await indexAs(tag, indexedAtMs);
    expect((await pass()).dueTagsPruned).toBe(0);
    expect(await indexScore(tag)).toBe(indexedAtMs);
    offsetMs += 31_000;
    expect((await pass()).dueTagsPruned).toBe(1);
    expect(await indexScore(tag)).toBeUndefined();
  });

  it("keeps a tag indexed again between the prune's reads and its removal (an admission in between), whose renewal is then pumped", async () => {
    const { keys, redis } = ctx.services;
    const orgId = await fundedCachedOrg(10_000);
    const tag = keys.meterDueTag(orgId);
    await indexAs(tag, clock() - DUE_INDEX_IDLE_MS - 1000);
    // The prune's reads: the tag is idle and its key empty.
    const thresholdMs = clock() - DUE_INDEX_IDLE_MS;
    expect(await redis.zrangebyscore(keys.meterDueIndex, '-inf', thresholdMs)).toContain(tag);
    expect(await redis.zcard(keys.meterDueOfTag(tag))).toBe(0);
    // An admission lands now: it indexes the tag again (a new score), then writes its entry.
    const job = await admit(orgId, 'race-admitted', clock());
    // The prune's removal, on what it read: the score moved, so the tag stays.
    expect(await ctx.services.calls.due.unindex(tag, thresholdMs)).toBe(false);
    expect(await indexScore(tag)).toBeGreaterThan(thresholdMs);
    expect(await pumpDueMeters(at(job.dueAtMs - 1000))).toBe(1);
    expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('race-admitted', 2)))?.data).toEqual(job);
  });

  it('after a prune, an admission in the same process indexes the key again, so its renewal is pumped', async () => {
    // The prune needs DUE_INDEX_IDLE_MS without a ZADD of the tag; the admissions' memo lasts
    // INDEX_MEMO_MS from their own ZADD, so by then it has run out in every process.
    expect(DUE_INDEX_IDLE_MS).toBeGreaterThan(INDEX_MEMO_MS);
    const { keys } = ctx.services;
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    const tag = keys.meterDueTag(orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'before-prune'))).body.assistantId).toBe(num.assistantId);
    const [first] = await dueFor('before-prune');
    const firstJob = parseDueMember(first?.member ?? '');
    if (!firstJob) throw new Error('no due entry');
    expect(await indexScore(tag)).toBeDefined();
    // Its renewal is pumped, the key is empty; no metered call of the slot for DUE_INDEX_IDLE_MS.
    expect(await pumpDueMeters(at(firstJob.dueAtMs - 1000))).toBe(1);
    offsetMs += DUE_INDEX_IDLE_MS + 1000;
    expect((await pass()).dueTagsPruned).toBeGreaterThanOrEqual(1);
    expect(await indexScore(tag)).toBeUndefined();

    // The same process (this test's services: the same memo) admits a call of that organisation.
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'after-prune'))).body.assistantId).toBe(num.assistantId);
    expect(await indexScore(tag)).toBeGreaterThan(clock() - INDEX_MEMO_MS);
    const [second] = await dueFor('after-prune');
    const secondJob = parseDueMember(second?.member ?? '');
    if (!secondJob) throw new Error('no due entry (or its key is not indexed)');
    expect(await pumpDueMeters(at(secondJob.dueAtMs - 1000))).toBe(1);
    expect((await ctx.services.queues.callMeters.getJob(jobIds.meter('after-prune', 2)))?.data).toEqual(secondJob);
  });
});
