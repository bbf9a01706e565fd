// (h) Outbound calls accepted per second (issue 23, CONTRACT §10): POST /api/calls through the
// real app (JWT, zod, libphonenumber-js, outbound_call_admit — key, number, rate, dialing,
// admission and hold in one transaction —, the hold copied into Redis with its meter, Vapi POST
// /call to the project's Vapi simulator over HTTP, outbound_call_placed), beside the inbound gate
// measured in the same run on the same app: assistant-request for new call ids (the Redis path).
// Informational: outbound calls are not on Vapi's 7.5 s budget, and each one is two Postgres
// transactions and one HTTP round trip to Vapi where an inbound admission is one Lua script. One
// organisation per side, funded so that nothing is refused; each request a new Idempotency-Key.
import { randomUUID } from 'node:crypto';
import { createSandboxCallStore, createVapiCallRoutes } from '../../sandbox/vapi-call-routes';
import { startVapiSimulator, type VapiSimulatorContext } from '../../sandbox/vapi-simulator';
import { freePort } from '../../test/support/redis-server';
import { assistantRequestRewriter, expectAdmitted, gateNumbers, webhookHeaders } from '../lib/call-gate';
import { dashboardHeaders } from '../lib/dashboard';
import { runHttpLoad, WARM_UP_SECONDS } from '../lib/http-load';
import type { Scenario } from '../lib/types';
import { createWorld, startChild } from '../lib/world';

/** libphonenumber's own example of a GB mobile number (valid in its metadata). */
const DESTINATION = '+447400123456';

export const scenario: Scenario = {
  name: 'h-outbound-calls',
  title: 'outbound calls accepted/s (POST /api/calls → Vapi simulator) beside the inbound gate (assistant-request, cache)',
  async run(settings, progress) {
    const calls = createSandboxCallStore();
    const vapi = await startVapiSimulator({ port: await freePort(), host: '127.0.0.1', routers: [(sim: VapiSimulatorContext) => createVapiCallRoutes({ ...sim, store: calls })] });
    const world = await createWorld({ logLevel: settings.BENCH_LOG_LEVEL, env: { VAPI_API_BASE_URL: vapi.url } });
    try {
      const app = await startChild('app', world.env);
      try {
        const [inbound, outbound] = await gateNumbers(world.services, 2, { topups: 20 });
        await expectAdmitted(app.url, inbound!);
        const headers = await dashboardHeaders(outbound!.orgId);
        const body = JSON.stringify({ assistantId: 'asst-bench-out', phoneNumberId: outbound!.vapiPhoneNumberId, customer: { number: DESTINATION } });
        const probe = await fetch(`${app.url}/api/calls`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': randomUUID() }, body });
        if (probe.status !== 201) throw new Error(`POST /api/calls is not placing calls (HTTP ${probe.status} ${(await probe.text()).slice(0, 200)})`);
        const run = randomUUID().slice(0, 8);
        let n = 0;
        const outboundLoad = (durationSeconds: number, label: string) =>
          runHttpLoad(
            {
              label,
              url: `${app.url}/api/calls`,
              connections: settings.BENCH_CONNECTIONS,
              durationSeconds,
              headers,
              body,
              setupRequest: (req) => {
                req.headers = { ...req.headers, 'idempotency-key': `bench-${run}-${n++}` };
                return req;
              },
            },
            progress,
          );
        const inboundLoad = (durationSeconds: number, label: string, tag: string) =>
          runHttpLoad(
            { label, url: `${app.url}/api/vapi/webhook`, connections: settings.BENCH_CONNECTIONS, durationSeconds, headers: webhookHeaders, setupRequest: assistantRequestRewriter([inbound!], tag) },
            progress,
          );
        await outboundLoad(WARM_UP_SECONDS, 'outbound (warm-up)');
        await inboundLoad(WARM_UP_SECONDS, 'inbound (warm-up)', `${run}-warm`);
        const baseline = await inboundLoad(settings.BENCH_DURATION_SECONDS, 'inbound gate (assistant-request, cache)', run);
        const subject = await outboundLoad(settings.BENCH_DURATION_SECONDS, 'POST /api/calls (placed at the Vapi simulator)');
        const placed = calls.all().filter((c) => c.type === 'outboundPhoneCall').length;
        const held = await world.count("select count(*) from outbound_calls where org_id = $1 and state = 'placed'", [outbound!.orgId]);
        return {
          subject,
          baseline,
          notes: [
            `one organisation per side, ${settings.BENCH_CONNECTIONS} connections; ${placed} calls reached the simulator, ${held} recorded placed (one each, none twice)`,
            'informational: an outbound call is two Postgres transactions and a Vapi round trip; an inbound admission one Lua script',
          ],
        };
      } finally {
        await app.stop();
      }
    } finally {
      await world.close();
      await vapi.close();
    }
  },
};
