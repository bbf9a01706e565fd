// Zero-latency Twilio and Vapi simulators for the end-to-end scenarios, on free ports in the
// bench process; the app and workers reach them through SANDBOX_TWILIO_PORT / SANDBOX_VAPI_PORT.
import { startTwilioSimulator } from '../../sandbox/twilio-simulator';
import { startVapiSimulator } from '../../sandbox/vapi-simulator';
import { freePort } from '../../test/support/redis-server';

export async function startSimulators() {
  const twilio = await startTwilioSimulator({ port: await freePort(), host: '127.0.0.1' });
  const vapi = await startVapiSimulator({ port: await freePort(), host: '127.0.0.1' });
  return {
    twilio,
    vapi,
    env: { SANDBOX_TWILIO_PORT: String(twilio.port), SANDBOX_VAPI_PORT: String(vapi.port) },
    close: async () => void (await Promise.allSettled([twilio.close(), vapi.close()])),
  };
}
