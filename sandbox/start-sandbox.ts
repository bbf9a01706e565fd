// Starts both simulators on the sandbox ports (CONTRACT §6) and says loudly that nothing real is
// bought. Used by `npm run sandbox` and by `npm start` in sandbox mode.
import { SANDBOX_SECRETS, type Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { createVapiCallRoutes } from './vapi-call-routes';
import { startStripeSimulator, type StripeSimulator } from './stripe-simulator';
import { startTwilioSimulator, type TwilioSimulator } from './twilio-simulator';
import { startVapiSimulator, type VapiRouterSpec, type VapiSimulator, type VapiSimulatorContext } from './vapi-simulator';

export interface RunningSandbox {
  twilio: TwilioSimulator;
  vapi: VapiSimulator;
  stripe: StripeSimulator;
  close(): Promise<void>;
}

export async function startSandbox(config: Config, log: Logger): Promise<RunningSandbox> {
  const vapiRouters: VapiRouterSpec[] = [
    // The call gate's Vapi calls: `GET /call/:id`, each call's control URL on this simulator, and
    // webhooks to the server of the imported number a call comes in on.
    // Outbound calls (POST /call) from numbers with no server here send theirs to this service, as
    // a Vapi account's server URL would.
    (sim: VapiSimulatorContext) =>
      createVapiCallRoutes({ ...sim, outboundServer: () => ({ url: `${config.publicBaseUrl}/api/vapi/webhook`, secret: config.auth.vapiWebhookSecret }) }),
  ];
  const twilio = await startTwilioSimulator({ host: config.sandbox.host, port: config.sandbox.twilioPort });
  const vapi = await startVapiSimulator({ host: config.sandbox.host, port: config.sandbox.vapiPort, routers: vapiRouters });
  const stripe = await startStripeSimulator({ host: config.sandbox.host, port: config.sandbox.stripePort, webhookUrl: config.stripe.webhookUrl, webhookSecret: config.stripe.webhookSecret });
  const banner = [
    '*****************************************************************************',
    '*  SANDBOX MODE: Twilio, Vapi and Stripe are local simulators here.          *',
    '*  NO REAL NUMBER IS BOUGHT, no real call is placed, no real card charged.  *',
    '*  Set TWILIO_ACCOUNT_SID (and the other secrets) to go live.                *',
    `*  Twilio simulator: ${twilio.url.padEnd(55)}*`,
    `*  Vapi simulator:   ${vapi.url.padEnd(55)}*`,
    `*  Stripe simulator: ${stripe.url.padEnd(55)}*`,
    '*****************************************************************************',
  ].join('\n');
  process.stdout.write(`${banner}\n`);
  // The built-in development secrets in use (CONTRACT §6), so a developer can call the API.
  const inUse: Array<[string, string | undefined]> = [
    ['ADMIN_TOKEN', config.auth.adminToken],
    ['SUPABASE_JWT_SECRET', config.auth.jwt.kind === 'secret' ? config.auth.jwt.secret : undefined],
    ['VAPI_WEBHOOK_SECRET', config.auth.vapiWebhookSecret],
    ['STRIPE_WEBHOOK_SECRET', config.stripe.webhookSecret],
  ];
  for (const [name, value] of inUse) {
    if (value !== undefined && value === SANDBOX_SECRETS[name as keyof typeof SANDBOX_SECRETS]) process.stdout.write(`sandbox development secret ${name}=${value}\n`);
  }
  log.warn({ twilio: twilio.url, vapi: vapi.url }, 'sandbox mode: no real number is bought');
  return {
    twilio,
    vapi,
    stripe,
    async close() {
      await Promise.allSettled([twilio.close(), vapi.close(), stripe.close()]);
    },
  };
}
