// Proves the Twilio simulator speaks Twilio's wire format and that our requests are ones Twilio
// accepts: the real `twilio` SDK (through shared/clients/twilio-client.ts) searches, buys, lists
// and releases against the simulator, and every request it sent (query and form parameters) and
// every JSON answer (search page, owned-number page, created number, error body) is validated
// with ajv against Twilio's OpenAPI spec (test/fixtures/twilio-oai: the v2010 paths we use,
// extracted unchanged from twilio/twilio-oai).
import Ajv, { type ValidateFunction } from 'ajv';
import spec from '../fixtures/twilio-oai/twilio_api_v2010.subset.json';
import { createTwilioClient } from '../../shared/clients/twilio-client';
import { SANDBOX_SECRETS } from '../../shared/config';
import { startTwilioSimulator, type RecordedRequest, type TwilioSimulator } from '../../sandbox/twilio-simulator';

type Spec = typeof spec;
type Operation = { parameters?: Array<{ name: string; in: string; schema: object; required?: boolean }>; requestBody?: { content: Record<string, { schema: object }> }; responses: Record<string, { content?: Record<string, { schema: object }> }> };

const ROOT = '/2010-04-01/Accounts/{AccountSid}';
const SEARCH = `${ROOT}/AvailablePhoneNumbers/{CountryCode}/Local.json`;
const OWNED = `${ROOT}/IncomingPhoneNumbers.json`;
const ONE = `${ROOT}/IncomingPhoneNumbers/{Sid}.json`;

function operation(p: string, method: string): Operation {
  const item = (spec.paths as Record<string, Record<string, unknown>>)[p];
  const op = item?.[method] as Operation | undefined;
  if (!op) throw new Error(`spec has no ${method} ${p}`);
  return op;
}

function ajv(coerce: boolean): Ajv {
  const a = new Ajv({ strict: false, allErrors: true, coerceTypes: coerce, logger: false });
  // Twilio uses "phone-number" for E.164 and for display forms such as "(808) 925-1571" (its own example).
  a.addFormat('phone-number', /^(\+[1-9]\d{1,14}|\(\d{3}\) \d{3}-\d{4})$/);
  a.addFormat('date-time-rfc-2822', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  a.addFormat('uri', /^(https?:\/\/|\/)\S*$/); // Twilio's page links are relative
  a.addFormat('iso-country-code', /^[A-Z]{2}$/);
  a.addFormat('phone-number-capabilities', true);
  return a;
}

/** A response schema compiled with the spec's components, so its #/components refs resolve. */
function responseValidator(p: string, method: string, status: string): ValidateFunction {
  const schema = operation(p, method).responses[status]?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`spec has no JSON ${status} for ${method} ${p}`);
  return ajv(false).compile({ ...schema, components: (spec as Spec).components });
}

/** Checks a request's query or form parameters: every one is a parameter of the operation, and each value fits its schema. */
function parameterProblems(p: string, method: string, sent: Record<string, unknown>, where: 'query' | 'form'): string[] {
  const op = operation(p, method);
  const schemas = new Map<string, object>();
  if (where === 'query') for (const prm of op.parameters ?? []) if (prm.in === 'query') schemas.set(prm.name, prm.schema);
  const form = op.requestBody?.content['application/x-www-form-urlencoded']?.schema as { properties?: Record<string, object> } | undefined;
  if (where === 'form') for (const [name, s] of Object.entries(form?.properties ?? {})) schemas.set(name, s);
  const problems: string[] = [];
  const a = ajv(true);
  for (const [name, value] of Object.entries(sent)) {
    const s = schemas.get(name);
    if (!s) {
      problems.push(`${method.toUpperCase()} ${p}: ${name} is not a ${where} parameter`);
      continue;
    }
    // Wrapped in an object so that coerceTypes can read "415" as the integer Twilio declares.
    const validate = a.compile({ type: 'object', properties: { v: s }, components: (spec as Spec).components });
    if (!validate({ v: value })) problems.push(`${method.toUpperCase()} ${p}: ${name}=${String(value)} ${a.errorsText(validate.errors)}`);
  }
  return problems;
}

function specPath(r: RecordedRequest): { path: string; method: string } {
  const p = r.path
    .replace(/^\/2010-04-01\/Accounts\/AC[0-9a-fA-F]{32}/, ROOT)
    .replace(/\/AvailablePhoneNumbers\/[A-Z]{2}\//, '/AvailablePhoneNumbers/{CountryCode}/')
    .replace(/\/IncomingPhoneNumbers\/PN[0-9a-fA-F]{32}\.json$/, '/IncomingPhoneNumbers/{Sid}.json');
  return { path: p, method: r.method.toLowerCase() };
}

describe('Twilio simulator against the OpenAPI spec', () => {
  let sim: TwilioSimulator;
  beforeAll(async () => {
    sim = await startTwilioSimulator();
  });
  afterAll(async () => sim.close());

  it('answers the SDK’s search, purchase, list and release with bodies the spec describes, and our requests fit the spec', async () => {
    const client = createTwilioClient({ accountSid: SANDBOX_SECRETS.TWILIO_ACCOUNT_SID, authToken: 'x', apiBaseUrl: sim.url });
    const candidates = await client.searchLocal('US', '415', 5);
    expect(candidates).toHaveLength(5);
    const bought = await client.buy(candidates[0] ?? '', 'request-1');
    expect(bought.sid).toMatch(/^PN[0-9a-f]{32}$/);
    expect(await client.findByFriendlyName('request-1')).toEqual([bought]);
    expect(await client.release(bought.sid)).toBe('released');
    expect(await client.release(bought.sid)).toBe('already_gone');
    expect(await client.findByFriendlyName('request-1')).toEqual([]);

    const checks: Array<[string, string, string, ValidateFunction]> = [
      [SEARCH, 'get', '200', responseValidator(SEARCH, 'get', '200')],
      [OWNED, 'get', '200', responseValidator(OWNED, 'get', '200')],
      [OWNED, 'post', '201', responseValidator(OWNED, 'post', '201')],
    ];
    const problems: string[] = [];
    let validatedBodies = 0;
    for (const r of sim.requests) {
      const { path: p, method } = specPath(r);
      expect([SEARCH, OWNED, ONE]).toContain(p);
      problems.push(...parameterProblems(p, method, r.query, 'query'));
      problems.push(...parameterProblems(p, method, r.form, 'form'));
      const check = checks.find(([cp, cm, cs]) => cp === p && cm === method && cs === String(r.status));
      if (check) {
        if (!check[3](r.response)) problems.push(`${method} ${p} answer: ${JSON.stringify(check[3].errors?.slice(0, 3))}`);
        validatedBodies++;
      }
    }
    expect(problems).toEqual([]);
    // The search, the create and both lists were validated, not skipped.
    expect(validatedBodies).toBe(4);
    // The purchase carried what Twilio needs: the number and our request's name.
    const create = sim.requests.find((r) => r.method === 'POST');
    expect(create?.form).toEqual({ PhoneNumber: candidates[0], FriendlyName: 'request-1' });
  });

  it('answers faults with Twilio’s error body, which the SDK turns into a RestException with status and code', async () => {
    const client = createTwilioClient({ accountSid: SANDBOX_SECRETS.TWILIO_ACCOUNT_SID, authToken: 'x', apiBaseUrl: sim.url });
    await expect(client.searchLocal('US', '000', 5)).rejects.toMatchObject({ status: 400, code: 21452, moreInfo: 'https://www.twilio.com/docs/errors/21452' });
    await expect(client.searchLocal('US', '999', 5)).rejects.toMatchObject({ status: 503, code: 20503 });
    const last = sim.requests[sim.requests.length - 1];
    expect(last?.response).toEqual({ code: 20503, message: 'Service Unavailable', more_info: 'https://www.twilio.com/docs/errors/20503', status: 503 });
  });
});
