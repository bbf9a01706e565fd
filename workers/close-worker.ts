// Graceful close with a deadline. worker.close() waits for active jobs with no timeout, and a
// later close(true) returns the close already in progress (bullmq Worker.close), so the policy is:
// wait up to the deadline, then ask for a forced close without waiting for it. A job cut off
// keeps its lock until it expires; the stall checker then runs it again elsewhere, and every
// step is safe to run twice.
import type { RedisClient } from '../shared/redis';
import type { Worker } from 'bullmq';
import type { Logger } from '../shared/logger';

export async function closeWorker(worker: Worker, connection: RedisClient, deadlineMs: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  const result = await Promise.race([worker.close().then(() => 'closed' as const), deadline]);
  clearTimeout(timer);
  if (result === 'deadline') {
    log.warn({ worker: worker.name, deadlineMs }, 'worker did not finish its jobs before the deadline; leaving them to the stall checker');
    void worker.close(true).catch(() => undefined);
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => undefined);
}
