// Provisioning benchmark: (1) how fast the API accepts provisions (debit + durable row + queue)
// over HTTP, with workers stopped; (2) how fast real workers drain them through the simulators
// with realistic latency. Real Postgres (a fresh database from the test template) and Redis
// (a fresh key prefix). Run: npx tsx bench/provisioning.ts [accepts=1000] [concurrency=32]
import { build } from 'hdr-histogram-js';
import { createApp } from '../api/app';
import { createPool } from '../shared/db/pool';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { createServices } from '../shared/process/services';
import { createRedis } from '../shared/redis';
import { listenLocal } from '../sandbox/listen';
import { startTwilioSimulator } from '../sandbox/twilio-simulator';
import { startVapiSimulator } from '../sandbox/vapi-simulator';
import { startWorkers } from '../workers/main';
import { createTestDatabase, databaseUrl, dropTestDatabase, ensureTemplate } from '../test/support/databases';
import { dashboardToken } from '../test/support/jwt';
import { deleteByPrefix, uniquePrefix } from '../test/support/redis';

const ACCEPTS = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';
/** Simulated third-party latency, roughly what Twilio and Vapi answer in from Europe. */
const TWILIO_LATENCY_MS = 80;
const PURCHASE_LATENCY_MS = 250;
const VAPI_LATENCY_MS = 60;

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await run(items[next++] as T);
  }));
}

async function main(): Promise<void> {
  await ensureTemplate();
  const db = await createTestDatabase();
  const prefix = uniquePrefix('bench');
  const twilio = await startTwilioSimulator({ faults: { latencyMs: TWILIO_LATENCY_MS, purchaseLatencyMs: PURCHASE_LATENCY_MS } });
  const vapi = await startVapiSimulator({ faults: { latencyMs: VAPI_LATENCY_MS } });
  const config = loadConfig({
    DATABASE_URL: databaseUrl(db), REDIS_KEY_PREFIX: prefix, SUPABASE_JWT_SECRET: JWT_SECRET, LOG_LEVEL: 'silent',
    TWILIO_API_BASE_URL: twilio.url, VAPI_API_BASE_URL: vapi.url, PROVISION_BACKOFF_MS: '100', SWEEP_INTERVAL_MS: '3600000',
  });
  const services = createServices(config, { log: createLogger('silent'), metrics: createMetrics(), redis: createRedis(config.redis, 'fail-fast', 'bench') });
  const server = await listenLocal(createApp(services));
  const base = server.url;
  try {
    const org = await services.store.createOrg({ name: 'bench', currency: 'gbp' });
    await services.wallet.credit({ orgId: org.org_id, amount: 100_000_000, idempotencyKey: 'bench', fingerprint: 'b'.repeat(64), reason: 'bench' });
    const auth = `Bearer ${await dashboardToken(JWT_SECRET, org.org_id)}`;

    // (1) Accepts, workers stopped.
    const accept = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    const ids: string[] = [];
    const statuses = new Map<number, number>();
    const t0 = performance.now();
    await pool([...Array(ACCEPTS).keys()], CONCURRENCY, async (i) => {
      const s = performance.now();
      const res = await fetch(`${base}/api/managed-telephony/provision`, {
        method: 'POST', headers: { authorization: auth, 'content-type': 'application/json', 'idempotency-key': `bench-${i}` }, body: JSON.stringify({ areaCode: String(200 + (i % 700)) }),
      });
      accept.recordValue(Math.round((performance.now() - s) * 1000));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 202) ids.push(((await res.json()) as { requestId: string }).requestId);
      else await res.text();
    });
    const acceptSeconds = (performance.now() - t0) / 1000;
    const us = (p: number) => (accept.getValueAtPercentile(p) / 1000).toFixed(1);
    console.log(`accept: ${ACCEPTS} POST /provision, concurrency ${CONCURRENCY}: ${(ACCEPTS / acceptSeconds).toFixed(0)} req/s; latency ms p50 ${us(50)} p99 ${us(99)} max ${us(100)}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);

    // (2) Drain with one worker process's workers.
    const t1 = performance.now();
    const workers = await startWorkers(services);
    const pg = createPool(databaseUrl(db), { max: 1 });
    // Drained when no request is left unfinished (the sweeper's own list leaves out deferred rows).
    for (;;) {
      const r = await pg.query<{ n: number }>("select count(*)::int as n from provisioning_requests where status in ('queued', 'provisioning', 'retrying', 'failed')");
      if (r.rows[0]?.n === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const drainSeconds = (performance.now() - t1) / 1000;
    const byStatus = await pg.query<{ status: string; n: number }>('select status, count(*)::int as n from provisioning_requests group by status');
    await pg.end();
    await workers.close(10_000);
    console.log(`drain: ${ids.length} requests to a final state in ${drainSeconds.toFixed(1)} s = ${(ids.length / drainSeconds).toFixed(1)} completions/s (Twilio ${TWILIO_LATENCY_MS} ms/req + ${PURCHASE_LATENCY_MS} ms/purchase, Vapi ${VAPI_LATENCY_MS} ms/req; ${twilio.owned.size} numbers bought); final states ${JSON.stringify(Object.fromEntries(byStatus.rows.map((r) => [r.status, r.n])))}`);
  } finally {
    await server.close();
    await deleteByPrefix(services.redis, prefix).catch(() => undefined);
    await services.close();
    await twilio.close();
    await vapi.close();
    await dropTestDatabase(db);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
