// (c) Provision requests accepted per second through the API (JWT auth, zod, the one SQL
// function that debits and records the request, cache write-through, queue add) vs the same SQL
// function called directly at the same concurrency. A unique Idempotency-Key per request, one
// well-funded wallet (so every request serialises on its row lock, on both sides). No workers
// run: this measures acceptance, not purchase.
import { randomUUID } from 'node:crypto';
import { phoneNumberPrices } from '../../shared/pricing';
import { dashboardHeaders } from '../lib/dashboard';
import { baselinePool, fundedOrg } from '../lib/fixtures';
import { runHttpLoad } from '../lib/http-load';
import { runLoopLoad } from '../lib/loop-load';
import type { Scenario } from '../lib/types';
import { createWorld, startChild } from '../lib/world';

export const scenario: Scenario = {
  name: 'c-provision-accept',
  title: 'provision requests accepted/s: API vs provision_request_create called directly',
  target: { minThroughputRatio: 0.6, text: '≥ 60% of direct SQL' },
  async run(settings, progress) {
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL });
    const pool = baselinePool(world.databaseUrl);
    const app = await startChild('app', world.env).catch(async (err: unknown) => {
      await Promise.allSettled([pool.end(), world.close()]);
      throw err;
    });
    try {
      const orgId = await fundedOrg(world.services, 10);
      // The prices as the API passes them (every currency), so both sides run the same SQL.
      const prices = JSON.stringify(phoneNumberPrices(world.services.config.pricing));
      const run = randomUUID().slice(0, 8);
      const baseline = await runLoopLoad(
        {
          label: 'direct SQL',
          concurrency: settings.BENCH_CONNECTIONS,
          durationSeconds: settings.BENCH_DURATION_SECONDS,
          op: async (i) => {
            const r = await pool.query<{ r: { outcome: string } }>(
              `select public.provision_request_create(p_org_id => $1, p_prices => $2::jsonb, p_idempotency_key => $3, p_fingerprint => $4,
                 p_area_code => '415', p_country => 'US', p_assistant_id => null, p_max_attempts => 5) as r`,
              [orgId, prices, `sql-${run}-${i}`, 'c'.repeat(64)],
            );
            if (r.rows[0]?.r.outcome !== 'queued') throw new Error(`create ${r.rows[0]?.r.outcome}`);
          },
        },
        progress,
      );
      let n = 0;
      const subject = await runHttpLoad(
        {
          label: 'API',
          url: `${app.url}/api/managed-telephony/provision`,
          connections: settings.BENCH_CONNECTIONS,
          durationSeconds: settings.BENCH_DURATION_SECONDS,
          headers: await dashboardHeaders(orgId),
          body: JSON.stringify({ areaCode: '415', country: 'US' }),
          setupRequest: (req) => {
            req.headers = { ...req.headers, 'idempotency-key': `api-${run}-${n++}` };
            return req;
          },
        },
        progress,
      );
      return {
        subject,
        baseline,
        notes: [`one wallet, ${settings.BENCH_CONNECTIONS} concurrent clients each side; the app's pool and the baseline pool both max 10`],
      };
    } finally {
      await app.stop();
      await pool.end();
      await world.close();
    }
  },
};
