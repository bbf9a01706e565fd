// (e) End-of-call reports settled per second: POST end-of-call-report (API process) → recorded
// in Postgres → call-billing job → worker charges the wallet (workers process), for a fixed
// number of distinct calls spread over the gate organisations; throughput = calls / (first
// submit → last billed), latency = each report's received_at → billed_at. Baseline: the same
// number of charges made by calling wallet_charge_call directly at the same concurrency.
import { randomUUID } from 'node:crypto';
import { callCharge } from '../../shared/pricing';
import { gateNumbers, webhookHeaders } from '../lib/call-gate';
import { baselinePool } from '../lib/fixtures';
import { submitAll, waitSettled } from '../lib/drain';
import { fromHistogram, newHistogram } from '../lib/loop-load';
import type { Scenario } from '../lib/types';
import { createWorld, startChild, type ChildHandle } from '../lib/world';

const CALL_SECONDS = 95;

export const scenario: Scenario = {
  name: 'e-call-reports',
  title: 'end-of-call reports settled/s (webhook → job → charge) vs wallet_charge_call directly',
  async run(settings, progress) {
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL });
    const pool = baselinePool(world.databaseUrl);
    const children: ChildHandle[] = [];
    try {
      children.push(await startChild('app', world.env), await startChild('workers', world.env));
      const [app] = children;
      const numbers = await gateNumbers(world.services, Math.min(settings.BENCH_GATE_ORGS, 50));
      const jobs = settings.BENCH_JOBS;
      const concurrency = Math.min(settings.BENCH_CONNECTIONS, jobs);
      const run = randomUUID().slice(0, 8);

      const direct = newHistogram();
      const sql = await submitAll(
        jobs,
        concurrency,
        async (i) => {
          const n = numbers[i % numbers.length]!;
          const r = await pool.query<{ r: { outcome: string } }>(
            'select public.wallet_charge_call(p_org_id => $1, p_call_id => $2, p_amount => $3, p_reference => $4) as r',
            [n.orgId, `sql-${run}-${i}`, callCharge(world.services.config.pricing, CALL_SECONDS), 'bench'],
          );
          if (r.rows[0]?.r.outcome !== 'charged') throw new Error(`charge ${r.rows[0]?.r.outcome}`);
        },
        direct,
      );
      const baseline = fromHistogram('wallet_charge_call direct', direct, sql.accepted, sql.errors, (sql.finishedAt - sql.startedAt) / 1000, 'ops/s');

      const endedAt = new Date();
      const startedAt = new Date(endedAt.getTime() - CALL_SECONDS * 1000);
      const sent = await submitAll(jobs, concurrency, async (i) => {
        const n = numbers[i % numbers.length]!;
        const res = await fetch(`${app!.url}/api/vapi/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...webhookHeaders },
          body: JSON.stringify({
            message: {
              type: 'end-of-call-report',
              endedReason: 'customer-ended-call',
              startedAt: startedAt.toISOString(),
              endedAt: endedAt.toISOString(),
              call: { id: `eocr-${run}-${i}`, phoneNumberId: n.vapiPhoneNumberId, assistantOverrides: { metadata: { orgId: n.orgId } } },
              phoneNumber: { id: n.vapiPhoneNumberId, number: n.e164 },
            },
          }),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      });
      progress(`posted ${sent.accepted}/${jobs} reports in ${((sent.finishedAt - sent.startedAt) / 1000).toFixed(1)}s${sent.firstError ? ` (first error: ${sent.firstError})` : ''}`);
      const billed = () => world.count('select count(*) from call_reports where call_id like $1 and billed_at is not null', [`eocr-${run}-%`]);
      const finished = await waitSettled('billed', sent.accepted, billed, progress);
      const latency = newHistogram();
      const times = await world.pool.query<{ ms: string }>('select extract(epoch from (billed_at - received_at)) * 1000 as ms from call_reports where call_id like $1', [`eocr-${run}-%`]);
      for (const r of times.rows) latency.recordValue(Math.max(1, Math.round(Number(r.ms) * 1000)));
      const subject = fromHistogram('webhook → job → charge', latency, sent.accepted, sent.errors, (finished - sent.startedAt) / 1000, 'jobs/s');
      return {
        subject,
        baseline,
        notes: [`${jobs} calls of ${CALL_SECONDS}s over ${numbers.length} organisations, ${concurrency} at once; subject latency is report received → billed`],
      };
    } finally {
      await Promise.allSettled(children.map((c) => c.stop()));
      await pool.end();
      await world.close();
    }
  },
};
