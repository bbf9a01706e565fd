// A workers process started alone (`bin/launch.ts workers`) serves its own /metrics: the counters
// of what it runs (renewals, refunds, retries, sweeps, the money outbox, the Stripe catch-up) live
// in its registry, and with the API in another process the API's /metrics has none of them. The
// real process, its own port (WORKERS_METRICS_PORT=0: one the OS picks), the operator token as on
// the API, and /healthz; nothing else is served there.
import { TEST_ADMIN_TOKEN, testEnv } from '../support/context';
import { createTestDatabase, databaseUrl } from '../support/databases';
import { uniquePrefix } from '../support/redis';
import { launchService, type ServiceProcess } from '../support/service-processes';

jest.setTimeout(60_000);

describe('a workers process on its own', () => {
  let p: ServiceProcess | undefined;
  afterAll(async () => p?.stop());

  it('serves /metrics (operator token) and /healthz on WORKERS_METRICS_PORT, and nothing else', async () => {
    const db = await createTestDatabase();
    p = launchService('workers', { ...testEnv(databaseUrl(db), uniquePrefix('wm')), LOG_LEVEL: 'info', SWEEP_INTERVAL_MS: '3600000' });
    await p.waitForOutput('workers metrics on http://127.0.0.1:');
    const port = /workers metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(p.output())?.[1];
    expect(port).toMatch(/^\d+$/);
    const base = `http://127.0.0.1:${port}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    // The workers process's own registry (its process metrics, the meter pump's counters) and the
    // scrape-time samplers against its Redis (the maintenance queue holds the schedules it asserted).
    expect(text).toMatch(/^billing_gates_process_cpu_seconds_total [\d.e+-]+$/m);
    expect(text).toMatch(/^billing_gates_meter_pump_entries_total \d+$/m);
    expect(text).toMatch(/^billing_gates_queue_jobs\{queue="maintenance",state="delayed"\} [1-9]\d*$/m);
    // Not the API: no webhook, no wallet routes.
    expect((await fetch(`${base}/api/wallet`)).status).toBe(404);
  });
});
