// A provisioning world for tests: real Postgres and Redis (createTestContext), the Twilio and
// Vapi simulators on ephemeral ports, the real workers in-process when asked, and helpers that
// go through the HTTP API like the dashboard does.
import request from 'supertest';
import { startWorkers, type RunningWorkers } from '../../workers/main';
import { startTwilioSimulator, type TwilioSimulator } from '../../sandbox/twilio-simulator';
import { startVapiSimulator, type VapiSimulator } from '../../sandbox/vapi-simulator';
import { SANDBOX_SECRETS } from '../../shared/config';
import { phoneNumberPrices } from '../../shared/pricing';
import { createTestContext, TEST_JWT_SECRET, type TestContext } from './context';
import { eventually } from './eventually';
import { dashboardToken } from './jwt';

export interface ProvisioningWorld {
  ctx: TestContext;
  twilio: TwilioSimulator;
  vapi: VapiSimulator;
  workers: RunningWorkers | undefined;
  startWorkers(): Promise<void>;
  close(): Promise<void>;
}

/** Small retry delays so that five attempts take well under a second. */
export const TEST_BACKOFF_MS = '20';

export function simulatorEnv(twilio: TwilioSimulator, vapi: VapiSimulator): Record<string, string> {
  return { TWILIO_API_BASE_URL: twilio.url, VAPI_API_BASE_URL: vapi.url };
}

export async function createProvisioningWorld(env: Record<string, string> = {}, options: { workers?: boolean } = {}): Promise<ProvisioningWorld> {
  const twilio = await startTwilioSimulator();
  const vapi = await startVapiSimulator();
  const ctx = await createTestContext({
    ...simulatorEnv(twilio, vapi),
    PROVISION_BACKOFF_MS: TEST_BACKOFF_MS,
    PROVISION_MAX_ATTEMPTS: '5',
    SWEEP_INTERVAL_MS: '3600000',
    ...env,
  });
  const world: ProvisioningWorld = {
    ctx,
    twilio,
    vapi,
    workers: undefined,
    async startWorkers() {
      world.workers ??= await startWorkers(ctx.services);
    },
    async close() {
      await world.workers?.close(5000);
      await ctx.close();
      await twilio.close();
      await vapi.close();
    },
  };
  if (options.workers !== false) await world.startWorkers();
  return world;
}

export async function authHeader(orgId: string): Promise<{ Authorization: string }> {
  return { Authorization: `Bearer ${await dashboardToken(TEST_JWT_SECRET, orgId)}` };
}

export async function provision(ctx: TestContext, orgId: string, key: string, body: Record<string, unknown>) {
  return request(ctx.app())
    .post('/api/managed-telephony/provision')
    .set(await authHeader(orgId))
    .set('Idempotency-Key', key)
    .send(body);
}

export async function status(ctx: TestContext, orgId: string, requestId: string) {
  return request(ctx.app()).get(`/api/managed-telephony/provisioning/${requestId}`).set(await authHeader(orgId));
}

const FINAL = new Set(['completed', 'refunded']);

/** Polls the status endpoint until the request is final (or the predicate holds), recording every status seen. */
export async function waitForRequest(
  ctx: TestContext,
  orgId: string,
  requestId: string,
  options: { until?: (body: Record<string, unknown>) => boolean; timeoutMs?: number; seen?: string[] } = {},
): Promise<Record<string, unknown>> {
  const until = options.until ?? ((b) => FINAL.has(String(b.status)));
  let last: Record<string, unknown> = {};
  return eventually(
    async () => {
      const res = await status(ctx, orgId, requestId);
      if (res.status !== 200) throw new Error(`status endpoint answered ${res.status}`);
      last = res.body as Record<string, unknown>;
      const s = String(last.status);
      if (options.seen && options.seen[options.seen.length - 1] !== s) options.seen.push(s);
      return until(last) ? last : undefined;
    },
    { what: () => `request ${requestId} (still ${String(last.status)}: ${JSON.stringify(last)})`, timeoutMs: options.timeoutMs ?? 20_000, everyMs: 15 },
  );
}

/** Numbers bought for a request, counted through the simulator's list endpoint as a client would. */
export async function numbersNamed(twilio: TwilioSimulator, friendlyName: string): Promise<Array<{ sid: string; phone_number: string }>> {
  const res = await fetch(`${twilio.url}/2010-04-01/Accounts/${SANDBOX_SECRETS.TWILIO_ACCOUNT_SID}/IncomingPhoneNumbers.json?FriendlyName=${encodeURIComponent(friendlyName)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${SANDBOX_SECRETS.TWILIO_ACCOUNT_SID}:x`).toString('base64')}` },
  });
  const body = (await res.json()) as { incoming_phone_numbers: Array<{ sid: string; phone_number: string }> };
  return body.incoming_phone_numbers;
}

export async function vapiNumbers(vapi: VapiSimulator): Promise<Array<{ id: string; number: string; name: string | null; assistantId: string | null; server: { url: string } | null }>> {
  const res = await fetch(`${vapi.url}/phone-number`, { headers: { authorization: 'Bearer test' } });
  return (await res.json()) as Array<{ id: string; number: string; name: string | null; assistantId: string | null; server: { url: string } | null }>;
}

export async function balanceOf(ctx: TestContext, orgId: string): Promise<number> {
  const r = await ctx.pool.query<{ balance: string }>('select balance from wallets where org_id = $1', [orgId]);
  return Number(r.rows[0]?.balance);
}

/** A debited, queued request written by the SQL function alone, with no job: what a crash right after the commit leaves. */
export async function requestWithoutJob(w: ProvisioningWorld, orgId: string, key: string, areaCode = '415'): Promise<string> {
  const r = await w.ctx.services.provisioning.create({
    orgId, prices: phoneNumberPrices(w.ctx.config.pricing), idempotencyKey: key, fingerprint: 'c'.repeat(64), areaCode, country: 'US', assistantId: undefined, maxAttempts: 5,
  });
  if (r.outcome !== 'queued') throw new Error(`fixture request not queued: ${r.outcome}`);
  return r.request.id;
}

/**
 * A request that bought a number and imported it into Vapi, then failed before completing (its
 * attempt's answers lost): the state a refund job starts from. Goes through the real SDK and the
 * simulators; only the Vapi id is not recorded, as when the import's answer never arrived.
 */
export async function failedAfterImport(w: ProvisioningWorld, orgId: string, key: string, areaCode = '415'): Promise<{ id: string; phoneNumber: string; sid: string; vapiId: string }> {
  const s = w.ctx.services;
  const id = await requestWithoutJob(w, orgId, key, areaCode);
  if ((await s.provisioning.startAttempt(id)).outcome !== 'started') throw new Error('fixture attempt not started');
  const [candidate] = await s.twilio.searchLocal('US', areaCode, 1);
  if (candidate === undefined) throw new Error('fixture: no candidate number');
  await s.provisioning.noteStep(id, { step: 'purchase' });
  const bought = await s.twilio.buy(candidate, id);
  await s.provisioning.noteStep(id, { step: 'purchased', phoneNumber: bought.phoneNumber, twilioSid: bought.sid });
  await s.provisioning.noteStep(id, { step: 'vapi_import' });
  const imported = await s.vapi.importTwilioNumber({
    number: bought.phoneNumber, name: id, twilioAccountSid: w.ctx.config.twilio.accountSid, twilioAuthToken: w.ctx.config.twilio.authToken,
    serverUrl: 'https://gates.example.com/api/vapi/webhook', serverSecret: 'fixture-secret',
  });
  if ((await s.provisioning.markFailed(id, 'fixture: failed after the import')).outcome !== 'failed') throw new Error('fixture not failed');
  return { id, phoneNumber: bought.phoneNumber, sid: bought.sid, vapiId: imported.id };
}
