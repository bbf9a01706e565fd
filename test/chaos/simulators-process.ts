// The Twilio, Vapi and Stripe simulators as their own process for the chaos test, with random
// faults on Twilio and Vapi (CHAOS_SIM_FAILURE_RATE: probability of a 503 per request;
// CHAOS_SIM_LATENCY_MS per request; CHAOS_SIM_PURCHASE_LATENCY_MS more on each purchase, the
// window a kill aims at) on top of the deterministic area-code faults, on SANDBOX_TWILIO_PORT /
// SANDBOX_VAPI_PORT / SANDBOX_STRIPE_PORT. The Stripe simulator has no random faults (its failure
// is the test's timed outage, POST /sandbox/outage); it delivers its events signed with
// STRIPE_WEBHOOK_SECRET to STRIPE_WEBHOOK_URL, and undelivered events are sent again as Stripe
// does (stripe-side.ts). CHAOS_SIM_INSPECT_PORT serves the test's view of Stripe (GET /stripe).
// Its own process so the test can stall it with SIGSTOP: sockets stay open and nothing answers.
import { z } from 'zod';
import { createVapiCallRoutes } from '../../sandbox/vapi-call-routes';
import { startStripeSimulator } from '../../sandbox/stripe-simulator';
import { startTwilioSimulator } from '../../sandbox/twilio-simulator';
import { startVapiSimulator, type VapiSimulatorContext } from '../../sandbox/vapi-simulator';
import { endProcess } from '../../shared/process/end-process';
import { startInspection, startStripeRedelivery } from './stripe-side';

const port = z.coerce.number().int().min(1).max(65535);
const env = z
  .object({
    SANDBOX_TWILIO_PORT: port,
    SANDBOX_VAPI_PORT: port,
    SANDBOX_STRIPE_PORT: port,
    STRIPE_WEBHOOK_URL: z.string().url(),
    STRIPE_WEBHOOK_SECRET: z.string().min(1),
    CHAOS_SIM_INSPECT_PORT: port,
    CHAOS_SIM_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
    CHAOS_SIM_LATENCY_MS: z.coerce.number().int().min(0).max(10_000).default(0),
    CHAOS_SIM_PURCHASE_LATENCY_MS: z.coerce.number().int().min(0).max(10_000).default(0),
  })
  .parse(process.env);

async function main(): Promise<void> {
  const faults = { failureRate: env.CHAOS_SIM_FAILURE_RATE, latencyMs: env.CHAOS_SIM_LATENCY_MS, purchaseLatencyMs: env.CHAOS_SIM_PURCHASE_LATENCY_MS };
  const twilio = await startTwilioSimulator({ port: env.SANDBOX_TWILIO_PORT, host: '127.0.0.1', faults });
  const vapi = await startVapiSimulator({ port: env.SANDBOX_VAPI_PORT, host: '127.0.0.1', faults, routers: [(sim: VapiSimulatorContext) => createVapiCallRoutes(sim)] });
  const stripe = await startStripeSimulator({ port: env.SANDBOX_STRIPE_PORT, host: '127.0.0.1', webhookUrl: env.STRIPE_WEBHOOK_URL, webhookSecret: env.STRIPE_WEBHOOK_SECRET });
  const redelivery = startStripeRedelivery(stripe, env.STRIPE_WEBHOOK_SECRET, { everyMs: 250, firstAfterMs: 2000, maxGapMs: 5000 });
  const inspection = await startInspection(env.CHAOS_SIM_INSPECT_PORT, () => redelivery.inspect());
  process.once('SIGTERM', () => {
    redelivery.stop();
    inspection.close();
    void Promise.allSettled([twilio.close(), vapi.close(), stripe.close()]).then(() => endProcess(0));
  });
  process.stdout.write(`simulators ready: ${twilio.url} ${vapi.url} ${stripe.url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulators: ${(err as Error).stack ?? String(err)}\n`);
  endProcess(1);
});
