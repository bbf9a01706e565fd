// Proves that a queue whose connection set-up failed takes commands again once Redis answers.
// BullMQ sets a queue's connection up once, when the queue is made (the client ready, then INFO
// for the server's version), and kept that promise: one INFO lost — Redis going away between the
// client's ready and the reply, a restart while a process starts — left the queue refusing every
// command for the life of the process, though the client itself reconnected (seen in CI: a
// workers process never asserted its schedules). Here every queue's first INFO fails, as a
// dropped connection fails it, on the service's real fail-fast client and real Redis.
import { createQueues, QUEUE_NAMES, type Queues } from '../../shared/queues/queues';
import { createRedis, waitForRedis, type RedisClient } from '../../shared/redis';
import { createTestContext, type TestContext } from '../support/context';
import { eventually } from '../support/eventually';
import { failCommand } from '../support/redis-faults';

describe('a queue whose connection set-up failed', () => {
  let ctx: TestContext;
  let redis: RedisClient;
  let queues: Queues | undefined;
  beforeAll(async () => {
    ctx = await createTestContext();
    redis = createRedis(ctx.config.redis, 'fail-fast', 'test-queue-setup');
    await waitForRedis(redis, 5000);
  });
  afterAll(async () => {
    await queues?.close();
    redis.disconnect();
    await ctx.close();
  });

  it('takes jobs again once Redis answers, every queue', async () => {
    const all = Object.keys(QUEUE_NAMES).length;
    const fault = failCommand(redis, 'info', all);
    queues = createQueues(redis, ctx.services.keys.bullPrefixFor);
    // Each queue asked once and was refused.
    await eventually(async () => (fault.failed() === all ? true : undefined), { what: 'every queue asked INFO' });
    fault.restore();
    const added = await eventually(
      async () => queues!.maintenance.add('sweep-calls', { task: 'sweep-calls' }, { jobId: 'after-a-failed-set-up' }).catch(() => undefined),
      { what: 'a job added to a queue whose set-up failed', timeoutMs: 15_000 },
    );
    expect(added.id).toBe('after-a-failed-set-up');
    for (const q of queues.all()) {
      expect(await eventually(async () => q.getJobCounts('waiting').catch(() => undefined), { what: `${q.name} answering`, timeoutMs: 15_000 })).toBeDefined();
    }
  });
});
