// The Twilio and Vapi simulators as their own process for the chaos test, with random faults
// (CHAOS_SIM_FAILURE_RATE: probability of a 503 per request; CHAOS_SIM_LATENCY_MS per request;
// CHAOS_SIM_PURCHASE_LATENCY_MS more on each purchase, the window a kill aims at)
// on top of the deterministic area-code faults, on SANDBOX_TWILIO_PORT / SANDBOX_VAPI_PORT. Its
// own process so the test can stall it with SIGSTOP: sockets stay open and nothing answers.
import { z } from 'zod';
import { createVapiCallRoutes } from '../../sandbox/vapi-call-routes';
import { startTwilioSimulator } from '../../sandbox/twilio-simulator';
import { startVapiSimulator, type VapiSimulatorContext } from '../../sandbox/vapi-simulator';
import { endProcess } from '../../shared/process/end-process';

const env = z
  .object({
    SANDBOX_TWILIO_PORT: z.coerce.number().int().min(1).max(65535),
    SANDBOX_VAPI_PORT: z.coerce.number().int().min(1).max(65535),
    CHAOS_SIM_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
    CHAOS_SIM_LATENCY_MS: z.coerce.number().int().min(0).max(10_000).default(0),
    CHAOS_SIM_PURCHASE_LATENCY_MS: z.coerce.number().int().min(0).max(10_000).default(0),
  })
  .parse(process.env);

async function main(): Promise<void> {
  const faults = { failureRate: env.CHAOS_SIM_FAILURE_RATE, latencyMs: env.CHAOS_SIM_LATENCY_MS, purchaseLatencyMs: env.CHAOS_SIM_PURCHASE_LATENCY_MS };
  const twilio = await startTwilioSimulator({ port: env.SANDBOX_TWILIO_PORT, host: '127.0.0.1', faults });
  const vapi = await startVapiSimulator({ port: env.SANDBOX_VAPI_PORT, host: '127.0.0.1', faults, routers: [(sim: VapiSimulatorContext) => createVapiCallRoutes(sim)] });
  process.once('SIGTERM', () => void Promise.allSettled([twilio.close(), vapi.close()]).then(() => endProcess(0)));
  process.stdout.write(`simulators ready: ${twilio.url} ${vapi.url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulators: ${(err as Error).stack ?? String(err)}\n`);
  endProcess(1);
});
