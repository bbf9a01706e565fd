// (d) End-to-end provisioning: POST provision (API process) → BullMQ → provisioning worker
// (workers process) → zero-latency Twilio and Vapi simulators → completed in Postgres, for a
// fixed number of requests; throughput = requests / (first submit → last completed), latency =
// each request's created_at → completed updated_at. Baseline: BullMQ's no-op job throughput on
// the same Redis with the same submission and worker concurrency (the ceiling a queue-driven
// saga cannot beat). No target: it shows how far below the queue's ceiling a real purchase runs.
import { randomUUID } from 'node:crypto';
import { PROVISIONING_CONCURRENCY } from '../../workers/provisioning-worker';
import { bullmqNoop } from '../lib/bullmq-noop';
import { dashboardHeaders } from '../lib/dashboard';
import { submitAll, waitSettled } from '../lib/drain';
import { fundedOrg } from '../lib/fixtures';
import { fromHistogram, newHistogram } from '../lib/loop-load';
import { startSimulators } from '../lib/simulators';
import type { Scenario } from '../lib/types';
import { createWorld, startChild, type ChildHandle } from '../lib/world';

/**
 * Requests spread over ordinary area codes (none of the simulator's fault codes), as real
 * traffic is: concurrent purchases in ONE area code collide on the same few candidate numbers
 * (BENCH_E2E_AREA_CODES=1 shows that case).
 */
const AREA_CODES = Array.from({ length: 40 }, (_, k) => String(201 + k * 7));

export const scenario: Scenario = {
  name: 'd-provision-e2e',
  title: 'provisioning end to end (API → queue → worker → simulators → DB) vs BullMQ no-op jobs',
  async run(settings, progress) {
    const sims = await startSimulators();
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL, env: sims.env });
    const children: ChildHandle[] = [];
    try {
      children.push(await startChild('app', world.env), await startChild('workers', world.env));
      const [app] = children;
      const orgId = await fundedOrg(world.services, 1);
      const headers = { ...(await dashboardHeaders(orgId)), 'content-type': 'application/json' };
      const jobs = settings.BENCH_JOBS;
      const concurrency = Math.min(settings.BENCH_CONNECTIONS, jobs);
      const run = randomUUID().slice(0, 8);
      const areaCode = (i: number) => AREA_CODES[i % settings.BENCH_E2E_AREA_CODES]!;
      const sent = await submitAll(jobs, concurrency, async (i) => {
        const res = await fetch(`${app!.url}/api/managed-telephony/provision`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': `e2e-${run}-${i}` },
          body: JSON.stringify({ areaCode: areaCode(i), country: 'US' }),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`provision answered ${res.status}`);
      });
      progress(`submitted ${sent.accepted}/${jobs} in ${((sent.finishedAt - sent.startedAt) / 1000).toFixed(1)}s${sent.firstError ? ` (first error: ${sent.firstError})` : ''}`);
      const completed = () => world.count("select count(*) from provisioning_requests where org_id = $1 and status = 'completed'", [orgId]);
      const finished = await waitSettled('completed', sent.accepted, completed, progress);
      const latency = newHistogram();
      const times = await world.pool.query<{ ms: string }>(
        "select extract(epoch from (updated_at - created_at)) * 1000 as ms from provisioning_requests where org_id = $1 and status = 'completed'",
        [orgId],
      );
      for (const r of times.rows) latency.recordValue(Math.max(1, Math.round(Number(r.ms) * 1000)));
      const subject = fromHistogram('API → worker → simulators', latency, sent.accepted, sent.errors, (finished - sent.startedAt) / 1000, 'jobs/s');

      const baseline = await bullmqNoop(
        { redisUrl: world.env.REDIS_URL!, prefix: `${world.env.REDIS_KEY_PREFIX}:noop`, jobs, submitConcurrency: concurrency, workerConcurrency: PROVISIONING_CONCURRENCY },
        progress,
      );
      return {
        subject,
        baseline,
        notes: [
          `${jobs} requests, ${concurrency} submitting at once, one workers process (provisioning concurrency ${PROVISIONING_CONCURRENCY}); ${settings.BENCH_E2E_AREA_CODES} area codes; numbers bought: ${sims.twilio.owned.size}`,
        ],
      };
    } finally {
      await Promise.allSettled(children.map((c) => c.stop()));
      await world.close();
      await sims.close();
    }
  },
};
