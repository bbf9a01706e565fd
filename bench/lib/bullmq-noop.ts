// The queue baseline: BullMQ's own no-op job throughput on the same Redis, with the same number
// of jobs, the same submission concurrency and the same worker concurrency as the scenario it
// anchors. Latency is the job's time from add to finish (finishedOn − timestamp).
import { Queue, Worker } from 'bullmq';
import { createRedis } from '../../shared/redis';
import { submitAll, waitSettled } from './drain';
import { fromHistogram, newHistogram } from './loop-load';
import type { Measurement } from './types';

export async function bullmqNoop(options: { redisUrl: string; prefix: string; jobs: number; submitConcurrency: number; workerConcurrency: number }, progress: (line: string) => void): Promise<Measurement> {
  const producer = createRedis({ url: options.redisUrl }, 'fail-fast', 'bench-noop-producer');
  const consumer = createRedis({ url: options.redisUrl }, 'blocking', 'bench-noop-worker');
  const queue = new Queue('bench-noop', { connection: producer, prefix: options.prefix });
  const latency = newHistogram();
  let done = 0;
  const worker = new Worker('bench-noop', async () => undefined, { connection: consumer, prefix: options.prefix, concurrency: options.workerConcurrency });
  worker.on('completed', (job) => {
    done++;
    if (job.finishedOn !== undefined) latency.recordValue(Math.max(1, (job.finishedOn - job.timestamp) * 1000));
  });
  try {
    await worker.waitUntilReady();
    const sent = await submitAll(options.jobs, options.submitConcurrency, async (i) => {
      await queue.add('noop', { i }, { removeOnComplete: true, removeOnFail: true });
    });
    const finished = await waitSettled('BullMQ no-op', options.jobs, async () => done, progress);
    return fromHistogram('BullMQ no-op jobs', latency, done, sent.errors, (finished - sent.startedAt) / 1000, 'jobs/s');
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await Promise.allSettled([producer.quit(), consumer.quit()]);
  }
}
