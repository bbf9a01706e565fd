// Proves the key layout that lets the service run on Redis Cluster (CONTRACT §13), in both test
// configurations (`npm test` on one Redis, `npm run test:cluster` on three masters): for any
// organisation the due key of its first renewals hashes to the slot of its wallet and hold keys
// (the admission script writes them together); every key BullMQ makes for one of our queues —
// jobs waiting, delayed, active and completed, events, metadata — shares that queue's slot; every
// key under the prefix belongs to a family the layout names; and the due keys of 200
// organisations land on every master (on the cluster, all three: the sharding spreads the pump's
// work).
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import request from 'supertest';
import { Cluster } from 'ioredis';
import { QUEUE_NAMES, type QueueName } from '../../shared/queues/queues';
import { createRedis, masterNodes, slotOf, SLOT_COUNT, tagOfSlot, type RedisClient } from '../../shared/redis';
import { createFundedOrg, createTestContext, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { ON_CLUSTER } from '../support/redis';
import { assistantRequest, postWebhook, registerNumber } from '../support/vapi';

/** Every key under `prefix`, from every master (SCAN walks one server). */
async function keysUnder(redis: RedisClient, prefix: string): Promise<Array<{ key: string; master: string }>> {
  const out: Array<{ key: string; master: string }> = [];
  for (const node of masterNodes(redis)) {
    const master = `${node.options.host ?? ''}:${node.options.port ?? ''}`;
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      out.push(...keys.map((key) => ({ key, master })));
    } while (cursor !== '0');
  }
  return out;
}

describe('the key layout on Redis Cluster', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx.close());

  it(`runs on ${ON_CLUSTER ? 'the Redis Cluster (REDIS_CLUSTER_NODES)' : 'one Redis (REDIS_URL)'}, and is ready`, async () => {
    // The suite proves what it says only if the service really talks to that topology.
    expect(ctx.services.redis instanceof Cluster).toBe(ON_CLUSTER);
    expect(masterNodes(ctx.services.redis).length).toBe(ON_CLUSTER ? 3 : 1);
    const ready = await request(ctx.app()).get('/readyz');
    expect([ready.status, ready.body.checks]).toEqual([200, { postgres: 'ok', redis: 'ok' }]);
  });

  // The loops collect mismatches and assert once: an expect() per key would hold the event loop
  // long enough for the fail-fast connection's pending commands to time out.
  it('has a tag for every slot, each hashing to its slot', () => {
    const wrong: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) if (slotOf(`{${tagOfSlot(slot)}}`) !== slot) wrong.push(slot);
    expect(wrong).toEqual([]);
    expect(() => tagOfSlot(SLOT_COUNT)).toThrow(/slot/);
  });

  it("puts an organisation's due key in the slot of its wallet and hold keys, for 2000 random organisations", () => {
    const { keys } = ctx.services;
    const wrong: string[] = [];
    const slots = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const orgId = randomUUID();
      const slot = slotOf(keys.wallet(orgId));
      slots.add(slot);
      const holds = keys.holds(orgId);
      if (![keys.meterDue(orgId), holds, `${holds}:expiry`, `${holds}:sum`].every((key) => slotOf(key) === slot)) wrong.push(orgId);
      // One due key per slot: organisations of one slot share it.
      if (keys.meterDue(orgId) !== keys.meterDueOfTag(tagOfSlot(slot))) wrong.push(orgId);
    }
    expect(wrong).toEqual([]);
    // Random organisations, many slots: the check is not one slot over and over.
    expect(slots.size).toBeGreaterThan(1500);
  });

  it("keeps every key BullMQ makes for each of our queues in that queue's own slot", async () => {
    const { services } = ctx;
    const queues = services.queues.all();
    expect(queues.map((q) => q.name).sort()).toEqual(Object.values(QUEUE_NAMES).sort());
    for (const q of queues) expect(q.opts.prefix).toBe(services.keys.bullPrefixFor(q.name));
    // A waiting and a delayed job in every queue; one queue also runs a job to completion, so the
    // worker's own keys (active, completed, stalled check, events, metrics) exist too.
    for (const q of queues) {
      await q.add('probe', {}, { jobId: `probe-${q.name}` });
      await q.add('probe', {}, { jobId: `later-${q.name}`, delay: 60_000 });
    }
    const worked: QueueName = QUEUE_NAMES.maintenance;
    const connection = createRedis(ctx.config.redis, 'blocking', 'cluster-slots-worker');
    const worker = new Worker(worked, async () => 'done', { connection, prefix: services.keys.bullPrefixFor(worked) });
    try {
      await eventually(async () => (await services.queues.maintenance.getJobState(`probe-${worked}`)) === 'completed', { what: 'the probe job completed' });
    } finally {
      await worker.close();
      await connection.quit();
    }

    const all = await keysUnder(services.redis, services.keys.prefix);
    for (const name of Object.values(QUEUE_NAMES)) {
      const prefix = services.keys.bullPrefixFor(name);
      const own = all.filter(({ key }) => key.startsWith(`${prefix}:`));
      // BullMQ's keys are <prefix>:<queue>:<suffix>; the prefix's {bull-<queue>} is the hash tag.
      expect(own.length).toBeGreaterThanOrEqual(name === worked ? 5 : 3);
      expect(new Set(own.map(({ key }) => slotOf(key)))).toEqual(new Set([slotOf(prefix)]));
      expect(new Set(own.map(({ master }) => master)).size).toBe(1);
    }
    const bull = all.filter(({ key }) => key.includes(':{bull-'));
    expect(bull.map(({ key }) => key).filter((key) => !Object.values(QUEUE_NAMES).some((name) => key.startsWith(`${services.keys.bullPrefixFor(name)}:${name}:`)))).toEqual([]);
  });

  it('names every key under the prefix by a family of the layout (nothing untagged that a script or queue shares)', async () => {
    const { keys } = ctx.services;
    const p = keys.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const families = [
      new RegExp(`^${p}:(wallet|holds):\\{[^}]+\\}(:expiry|:sum)?$`),
      new RegExp(`^${p}:meters:due:\\{[0-9a-z]{1,4}\\}$`),
      new RegExp(`^${p}:meters:(due-index|sweep-cursor)$`),
      new RegExp(`^${p}:stripe:catch-up-(cursor|backlog)$`),
      new RegExp(`^${p}:(number|call-control|rl):`),
      new RegExp(`^${p}:\\{bull-[a-z-]+\\}:`),
    ];
    // A metered call admitted through the webhook writes the org's keys, its due entry and the
    // index, and caches the number.
    const orgId = await createFundedOrg(ctx.services, 1000);
    const num = await registerNumber(ctx.services, orgId);
    expect((await postWebhook(ctx.app(), assistantRequest(num, 'layout-call'))).body.assistantId).toBe(num.assistantId);
    const all = (await keysUnder(ctx.services.redis, keys.prefix)).map(({ key }) => key);
    for (const key of [keys.wallet(orgId), keys.holds(orgId), keys.meterDue(orgId), keys.meterDueIndex]) expect(all).toContain(key);
    expect(all.filter((key) => !families.some((f) => f.test(key)))).toEqual([]);
  });

  it(`spreads the due keys of 200 organisations over ${ON_CLUSTER ? 'all three masters' : 'the one Redis'} (every master holds some)`, async () => {
    const { redis, keys } = ctx.services;
    const orgs = Array.from({ length: 200 }, () => randomUUID());
    const isDue = ({ key }: { key: string }) => key.startsWith(`${keys.prefix}:meters:due:{`);
    const before = new Set((await keysUnder(redis, keys.prefix)).filter(isDue).map(({ key }) => key));
    const entriesBefore = (await ctx.services.calls.due.depth()).entries;
    // Written through the cluster client as the admission writes them: each lands on the master
    // that owns its slot.
    for (const orgId of orgs) {
      await redis.zadd(keys.meterDueIndex, Date.now(), keys.meterDueTag(orgId));
      await redis.zadd(keys.meterDue(orgId), Date.now() + 3_600_000, `spread|${orgId}`);
    }
    try {
      const due = (await keysUnder(redis, keys.prefix)).filter((k) => isDue(k) && !before.has(k.key));
      expect(new Set(due.map(({ key }) => key))).toEqual(new Set(orgs.map((o) => keys.meterDue(o)).filter((key) => !before.has(key))));
      const perMaster = new Map<string, number>();
      for (const { master } of due) perMaster.set(master, (perMaster.get(master) ?? 0) + 1);
      expect(perMaster.size).toBe(ON_CLUSTER ? 3 : 1);
      // The sampler sees them all, whichever master holds them.
      expect((await ctx.services.calls.due.depth()).entries).toBe(entriesBefore + 200);
    } finally {
      await Promise.all(orgs.map((o) => redis.zrem(keys.meterDue(o), `spread|${o}`)));
    }
  });
});
