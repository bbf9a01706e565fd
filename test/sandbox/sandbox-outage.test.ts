// Proves POST /sandbox/outage on the Stripe and Vapi simulators (CONTRACT §13), over real HTTP:
// for N seconds every other request gets the status asked for and the third party's own error
// body — through the real `stripe` SDK (the service's own client) for Stripe; by fetch for Vapi's
// REST API and a call's control URL, where the refused message is not acted on. Afterwards both
// answer normally again; `seconds: 0` ends an outage early; a body the endpoint cannot take is a
// 4xx in the simulator's shape and starts nothing. The simulators' own /sandbox/ test endpoints
// keep answering during an outage.
import Stripe from 'stripe';
import { createStripeClient } from '../../shared/clients/stripe-client';
import { startStripeSimulator, type StripeSimulator } from '../../sandbox/stripe-simulator';
import { startVapiSimulator, type VapiSimulator, type VapiSimulatorContext } from '../../sandbox/vapi-simulator';
import { createSandboxCallStore, createVapiCallRoutes } from '../../sandbox/vapi-call-routes';
import { OUTAGE_MAX_SECONDS } from '../../sandbox/sandbox-outage';
import { eventually } from '../support/eventually';

jest.setTimeout(30_000);

async function postJson(url: string, body: unknown, raw?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-vapi-key' }, body: raw ?? JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Bodies POST /sandbox/outage must refuse: each a 400, none starting an outage. (Rows of one
 * length: jest.each takes a test function with more parameters than the row for a `done` test.) */
const BAD_BODIES: Array<[why: string, body: unknown, raw: string | undefined]> = [
  ['not JSON', undefined, '{"seconds":'],
  ['no seconds', { status: 503 }, undefined],
  ['negative seconds', { seconds: -1 }, undefined],
  ['fractional seconds', { seconds: 1.5 }, undefined],
  ['seconds as a string', { seconds: '5' }, undefined],
  ['beyond the longest outage', { seconds: OUTAGE_MAX_SECONDS + 1 }, undefined],
  ['a status that is not a 5xx', { seconds: 5, status: 404 }, undefined],
  ['a status out of range', { seconds: 5, status: 600 }, undefined],
  ['an unknown field', { seconds: 5, status: 503, region: 'eu' }, undefined],
];

describe('POST /sandbox/outage on the Stripe simulator', () => {
  let sim: StripeSimulator;
  let stripe: Stripe;
  beforeAll(async () => {
    sim = await startStripeSimulator({ webhookSecret: 'whsec_test_0123456789abcdef' });
    // The service's own client: the real SDK, one network retry, pointed at the simulator.
    stripe = createStripeClient({ secretKey: 'sk_test_outage_0123', apiBaseUrl: sim.url, apiTimeoutMs: 5000 });
  });
  afterAll(async () => sim.close());

  const outage = (body: unknown, raw?: string) => postJson(`${sim.url}/sandbox/outage`, body, raw);

  it("answers every API call through the SDK with the status and Stripe's api_error body for N seconds, then serves again", async () => {
    const customer = await stripe.customers.create({ name: 'Before' });
    const started = await outage({ seconds: 2, status: 503 });
    expect(started.status).toBe(200);
    expect(started.body).toEqual({ outage: { status: 503, until: expect.any(String) } });
    const until = Date.parse(String((started.body.outage as { until: string }).until));

    const refused = await stripe.customers.retrieve(customer.id).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(refused).toMatchObject({ type: 'StripeAPIError', statusCode: 503, raw: { type: 'api_error', message: expect.stringMatching(/outage/) } });
    await expect(stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price_data: { currency: 'gbp', unit_amount: 500, product_data: { name: 'x' } }, quantity: 1 }] })).rejects.toMatchObject({ statusCode: 503 });
    // The raw answer: Stripe's error shape, and the hosted checkout page down too.
    const raw = await fetch(`${sim.url}/v1/customers/${customer.id}`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(raw.status).toBe(503);
    expect(await raw.json()).toEqual({ error: { type: 'api_error', message: expect.any(String) } });
    expect((await fetch(`${sim.url}/checkout/cs_test_any`)).status).toBe(503);
    // The simulator's own test endpoints still answer (here: Stripe's 404 for an unknown session).
    expect((await postJson(`${sim.url}/sandbox/checkout/sessions/cs_test_none/pay`, { card: '4242424242424242' })).status).toBe(404);

    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 50));
    expect((await stripe.customers.retrieve(customer.id)).id).toBe(customer.id);
  });

  it('answers with the status asked for, and ends the outage early on seconds 0', async () => {
    expect((await outage({ seconds: 600, status: 500 })).status).toBe(200);
    await expect(stripe.customers.create({ name: 'During' })).rejects.toMatchObject({ statusCode: 500, raw: { type: 'api_error' } });
    expect(await outage({ seconds: 0, status: 503 })).toEqual({ status: 200, body: { outage: null } });
    expect((await stripe.customers.create({ name: 'After' })).name).toBe('After');
  });

  it.each(BAD_BODIES)('refuses %s with a 400 in Stripe’s shape, starting no outage', async (_why, body, raw) => {
    const res = await outage(body, raw);
    expect(res).toEqual({ status: 400, body: { error: { type: 'invalid_request_error', message: expect.any(String) } } });
    expect((await stripe.customers.create({ name: 'Still up' })).name).toBe('Still up');
  });
});

describe('POST /sandbox/outage on the Vapi simulator', () => {
  let sim: VapiSimulator;
  const calls = createSandboxCallStore();
  beforeAll(async () => {
    sim = await startVapiSimulator({ routers: [(ctx: VapiSimulatorContext) => createVapiCallRoutes({ ...ctx, store: calls })] });
  });
  afterAll(async () => sim.close());

  const auth = { authorization: 'Bearer sandbox-vapi-key' };
  const outage = (body: unknown, raw?: string) => postJson(`${sim.url}/sandbox/outage`, body, raw);
  const vapiUnavailable = { statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/outage/) };

  it("answers the REST API and every call's control URL with 503 and Vapi's error body for N seconds, acting on nothing, then serves again", async () => {
    const call = (await postJson(`${sim.url}/sandbox/calls`, { id: 'outage-call' })).body as { monitor: { controlUrl: string } };
    expect((await outage({ seconds: 2, status: 503 })).status).toBe(200);

    const list = await fetch(`${sim.url}/phone-number`, { headers: auth });
    expect(list.status).toBe(503);
    expect(await list.json()).toEqual(vapiUnavailable);
    const get = await fetch(`${sim.url}/call/outage-call`, { headers: auth });
    expect([get.status, await get.json()]).toEqual([503, vapiUnavailable]);
    // Before authentication, as a failing load balancer would answer.
    expect((await fetch(`${sim.url}/phone-number`)).status).toBe(503);

    const refused = await postJson(call.monitor.controlUrl, { type: 'end-call' });
    expect(refused).toEqual({ status: 503, body: vapiUnavailable });
    // Not acted on, not recorded; the simulator's own endpoints still answer.
    expect(calls.get('outage-call')?.status).toBe('in-progress');
    const log = await fetch(`${sim.url}/sandbox/calls/outage-call/control`, { headers: auth });
    expect([log.status, ((await log.json()) as { messages: unknown[] }).messages]).toEqual([200, []]);

    // Once it is over: the control URL ends the call.
    const accepted = await eventually(async () => {
      const res = await postJson(call.monitor.controlUrl, { type: 'end-call' });
      return res.status === 503 ? undefined : res;
    }, { timeoutMs: 5000 });
    expect(accepted).toEqual({ status: 200, body: { received: true } });
    expect(calls.get('outage-call')?.status).toBe('ended');
    expect((await fetch(`${sim.url}/phone-number`, { headers: auth })).status).toBe(200);
  });

  it('ends the outage early on seconds 0; another status is answered with its own reason phrase', async () => {
    expect((await outage({ seconds: 600, status: 502 })).status).toBe(200);
    const res = await fetch(`${sim.url}/phone-number`, { headers: auth });
    expect([res.status, await res.json()]).toEqual([502, { statusCode: 502, error: 'Bad Gateway', message: expect.any(String) }]);
    expect((await outage({ seconds: 0 })).body).toEqual({ outage: null });
    expect((await fetch(`${sim.url}/phone-number`, { headers: auth })).status).toBe(200);
  });

  it.each(BAD_BODIES)('refuses %s with a 400 in Vapi’s shape, starting no outage', async (_why, body, raw) => {
    const res = await outage(body, raw);
    expect(res).toEqual({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: expect.any(String) } });
    expect((await fetch(`${sim.url}/phone-number`, { headers: auth })).status).toBe(200);
  });
});
