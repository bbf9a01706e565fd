// Proves the Vapi simulator's live call control (CONTRACT §4.2, §6), over real HTTP: every call
// carries monitor.controlUrl on the simulator; `say` with endCallAfterSpoken and `end-call` end the
// call, and the call's server receives the ended status-update and then the end-of-call report
// (x-vapi-secret set); `add-message` is only recorded; unknown calls get Vapi's 404, malformed
// messages a JSON 400; what was posted is listed in order, bounded. Every webhook body the simulator
// sent, and every control message the tests posted, is validated with ajv against Vapi's OpenAPI
// schemas (test/fixtures/vapi-oai, extracted unchanged from VapiAI/docs).
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { listenLocal } from '../../sandbox/listen';
import { CONTROL_ENDED_REASON, createVapiCallRoutes, SANDBOX_MAX_CONTROL_PER_CALL } from '../../sandbox/vapi-call-routes';
import { startVapiSimulator, type VapiSimulator, type VapiSimulatorContext } from '../../sandbox/vapi-simulator';
import { eventually } from '../support/eventually';

// The spec ships a few empty `enum` arrays, which ajv refuses (vapi-oai README): dropped on parsing.
const spec = JSON.parse(readFileSync(join(__dirname, '../fixtures/vapi-oai/vapi.subset.json'), 'utf8'), (k, v: unknown) =>
  k === 'enum' && Array.isArray(v) && v.length === 0 ? undefined : v,
) as { components: Record<string, unknown> };
const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
addFormats(ajv);
ajv.addSchema({ $id: 'vapi', components: spec.components });
const schemas = new Map<string, ValidateFunction>();
function problems(schema: string, body: unknown): string[] {
  let v = schemas.get(schema);
  if (!v) {
    v = ajv.compile({ $ref: `vapi#/components/schemas/${schema}` });
    schemas.set(schema, v);
  }
  return v(body) ? [] : (v.errors ?? []).slice(0, 5).map((e) => `${schema}${e.instancePath} ${e.message ?? ''}`);
}

interface Received {
  headers: IncomingHttpHeaders;
  body: { message: Record<string, unknown> & { type: string; call: Record<string, unknown> & { id: string } } };
}

/** A stand-in for the service's webhook endpoint: records every POST, answers the queued statuses (then 200). */
async function startReceiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  const listening = await listenLocal((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      if (status === 200) received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return {
    url: `${listening.url}/api/vapi/webhook`,
    received,
    statuses,
    of: (callId: string) => received.filter((r) => r.body.message.call.id === callId),
    close: listening.close,
  };
}

describe('Vapi simulator: live call control', () => {
  let sim: VapiSimulator;
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  /** Control messages the tests posted and the simulator accepted, validated against the spec at the end. */
  const sentControl: Array<{ type: string }> = [];
  const auth = { Authorization: 'Bearer sandbox-vapi-key', 'Content-Type': 'application/json' };

  beforeAll(async () => {
    hook = await startReceiver();
    // Mounted the way the sandbox mounts it (start-sandbox.ts): behind the REST API's Bearer check.
    sim = await startVapiSimulator({ routers: [(ctx: VapiSimulatorContext) => createVapiCallRoutes(ctx)] });
  });
  afterAll(async () => {
    await sim.close();
    await hook.close();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Posts to a control URL as the service does: no Bearer key, the message itself as the body. */
  const control = async (controlUrl: string, message: unknown, raw?: string) => {
    const res = await fetch(controlUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: raw ?? JSON.stringify(message) });
    const answer = { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
    if (res.status === 200) sentControl.push(message as { type: string });
    return answer;
  };
  let numberSeq = 0;
  /** Imports a number whose server is the receiver, as provisioning does. */
  async function importNumber(): Promise<string> {
    numberSeq++;
    const res = await api('POST', '/phone-number', {
      provider: 'twilio',
      number: `+1415555${String(numberSeq).padStart(4, '0')}`,
      twilioAccountSid: 'AC00000000000000000000000000000000',
      twilioAuthToken: 'token',
      server: { url: hook.url, secret: 'hook-secret' },
    });
    expect(res.status).toBe(201);
    return String(res.body.id);
  }
  async function startCall(body: Record<string, unknown>) {
    const res = await api('POST', '/sandbox/calls', body);
    expect(res.status).toBe(201);
    return res.body as { id: string; status: string; monitor: { listenUrl: string; controlUrl: string } };
  }
  const types = (callId: string) => hook.of(callId).map((r) => `${r.body.message.type}:${String(r.body.message.status ?? '')}`);

  it('gives every call a monitor.controlUrl on the simulator, on GET /call/:id and in the in-progress status-update', async () => {
    const phoneNumberId = await importNumber();
    const call = await startCall({ id: 'ctl-url', phoneNumberId });
    expect(call.monitor.controlUrl).toBe(`${sim.url}/call/ctl-url/control`);
    expect(call.monitor.listenUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/call\/ctl-url\/listen$/);
    expect((await api('GET', '/call/ctl-url')).body).toMatchObject({ id: 'ctl-url', status: 'in-progress', monitor: call.monitor });

    const [first] = await eventually(async () => (hook.of('ctl-url').length === 1 ? hook.of('ctl-url') : undefined));
    expect(first?.headers['x-vapi-secret']).toBe('hook-secret');
    expect(first?.body.message).toMatchObject({
      type: 'status-update',
      status: 'in-progress',
      call: { id: 'ctl-url', phoneNumberId, monitor: { controlUrl: call.monitor.controlUrl } },
      phoneNumber: { id: phoneNumberId, number: '+14155550001' },
    });
  });

  it('ends the call on say with endCallAfterSpoken; the server gets the ended status-update, then the end-of-call report', async () => {
    const phoneNumberId = await importNumber();
    const startedAt = new Date(Date.now() - 90_000).toISOString();
    const call = await startCall({ id: 'ctl-say', phoneNumberId, startedAt });
    const answer = await control(call.monitor.controlUrl, { type: 'say', content: 'Your credit has run out. Goodbye.', endCallAfterSpoken: true });
    expect(answer).toMatchObject({ status: 200, body: { received: true } });

    const after = (await api('GET', '/call/ctl-say')).body;
    expect(after).toMatchObject({ status: 'ended', startedAt, endedReason: CONTROL_ENDED_REASON.say });
    expect(Date.now() - Date.parse(String(after.endedAt))).toBeLessThan(10_000);

    await eventually(async () => (hook.of('ctl-say').length === 3 ? true : undefined));
    expect(types('ctl-say')).toEqual(['status-update:in-progress', 'status-update:ended', 'end-of-call-report:']);
    const [, ended, report] = hook.of('ctl-say');
    expect(ended?.body.message).toMatchObject({ endedReason: 'assistant-ended-call-after-message-spoken', call: { id: 'ctl-say', status: 'ended' } });
    expect(report?.headers['x-vapi-secret']).toBe('hook-secret');
    const r: Record<string, unknown> = report?.body.message ?? {};
    expect(r).toMatchObject({ endedReason: 'assistant-ended-call-after-message-spoken', startedAt, endedAt: after.endedAt, call: { id: 'ctl-say', status: 'ended', endedAt: after.endedAt } });
    expect(Number(r.durationSeconds)).toBeCloseTo((Date.parse(String(after.endedAt)) - Date.parse(startedAt)) / 1000, 3);
    expect(Number(r.durationSeconds)).toBeGreaterThanOrEqual(90);

    expect((await api('GET', '/sandbox/calls/ctl-say/control')).body).toMatchObject({
      callId: 'ctl-say',
      status: 'ended',
      dropped: 0,
      messages: [{ callStatus: 'in-progress', message: { type: 'say', content: 'Your credit has run out. Goodbye.', endCallAfterSpoken: true } }],
    });
  });

  it('ends the call on end-call (server given on the call itself); a retry after the end is recorded, answered 200, and sends nothing more', async () => {
    const call = await startCall({ id: 'ctl-end', serverUrl: hook.url, serverSecret: 'per-call-secret' });
    expect((await control(call.monitor.controlUrl, { type: 'end-call' })).status).toBe(200);
    expect((await api('GET', '/call/ctl-end')).body).toMatchObject({ status: 'ended', endedReason: 'assistant-ended-call' });
    expect((await control(call.monitor.controlUrl, { type: 'end-call' })).status).toBe(200);

    await eventually(async () => (hook.of('ctl-end').length >= 3 ? true : undefined));
    await new Promise((r) => setTimeout(r, 100)); // room for a wrong fourth message to arrive
    expect(types('ctl-end')).toEqual(['status-update:in-progress', 'status-update:ended', 'end-of-call-report:']);
    expect(hook.of('ctl-end').map((r) => r.headers['x-vapi-secret'])).toEqual(['per-call-secret', 'per-call-secret', 'per-call-secret']);
    expect(hook.of('ctl-end')[2]?.body.message).toMatchObject({ endedReason: 'assistant-ended-call' });

    const log = (await api('GET', '/sandbox/calls/ctl-end/control')).body as { messages: Array<{ callStatus: string; receivedAt: string }> };
    expect(log.messages.map((m) => m.callStatus)).toEqual(['in-progress', 'ended']);
  });

  it('records add-message (and a say without endCallAfterSpoken) in order and leaves the call up', async () => {
    const call = await startCall({ id: 'ctl-add' });
    const sent = [
      { type: 'add-message', message: { role: 'system', content: 'The caller has one minute of credit left.' }, triggerResponseEnabled: false },
      { type: 'say', content: 'One minute left.' },
      { type: 'add-message', message: { role: 'user', content: null } },
    ];
    for (const m of sent) expect((await control(call.monitor.controlUrl, m)).status).toBe(200);
    expect((await api('GET', '/call/ctl-add')).body).toMatchObject({ status: 'in-progress', endedAt: null });
    const log = (await api('GET', '/sandbox/calls/ctl-add/control')).body as { messages: Array<{ receivedAt: string; message: unknown }> };
    expect(log.messages.map((m) => m.message)).toEqual(sent);
    const times = log.messages.map((m) => Date.parse(m.receivedAt));
    expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= (times[i - 1] ?? 0)))).toBe(true);
  });

  it('answers an unknown call with Vapi’s 404 and a malformed message with a JSON 400, recording neither', async () => {
    const unknown = await control(`${sim.url}/call/no-such-call/control`, { type: 'end-call' });
    expect(unknown).toEqual({ status: 404, type: expect.stringContaining('application/json'), body: { message: 'Call not found', error: 'Not Found', statusCode: 404 } });

    const call = await startCall({ id: 'ctl-bad' });
    const bad: Array<[string, unknown, string?]> = [
      ['not JSON', undefined, '{"type":'],
      ['no type', {}],
      ['a type the simulator does not act on', { type: 'transfer', destination: { type: 'number', number: '+14155550100' } }],
      ['say without content', { type: 'say', endCallAfterSpoken: true }],
      ['a field the spec does not name', { type: 'end-call', reason: 'no money' }],
      ['endCallAfterSpoken not a boolean', { type: 'say', content: 'x', endCallAfterSpoken: 'yes' }],
      ['add-message with a role OpenAI does not have', { type: 'add-message', message: { role: 'robot', content: 'x' } }],
    ];
    for (const [why, body, raw] of bad) {
      const res = await control(call.monitor.controlUrl, body, raw);
      expect({ why, status: res.status, type: res.type }).toEqual({ why, status: 400, type: expect.stringContaining('application/json') });
      expect(res.body).toMatchObject({ error: 'Bad Request', statusCode: 400, message: expect.any(String) });
    }
    expect((await api('GET', '/sandbox/calls/ctl-bad/control')).body).toMatchObject({ messages: [], dropped: 0 });
    expect((await api('GET', '/call/ctl-bad')).body).toMatchObject({ status: 'in-progress' });
    expect((await api('GET', '/sandbox/calls/no-such-call/control')).status).toBe(404);
  });

  it('keeps only the latest messages of a call, counting those dropped', async () => {
    const call = await startCall({ id: 'ctl-many' });
    for (let i = 0; i < SANDBOX_MAX_CONTROL_PER_CALL + 3; i++) {
      const res = await fetch(call.monitor.controlUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'say', content: `n${i}` }) });
      expect(res.status).toBe(200);
    }
    const log = (await api('GET', '/sandbox/calls/ctl-many/control')).body as { messages: Array<{ message: { content: string } }>; dropped: number };
    expect(log.dropped).toBe(3);
    expect(log.messages).toHaveLength(SANDBOX_MAX_CONTROL_PER_CALL);
    expect(log.messages[0]?.message.content).toBe('n3');
  });

  it('sends nothing when no server URL is known, and retries a delivery the server answered 503', async () => {
    const before = hook.received.length;
    const silent = await startCall({ id: 'ctl-silent', phoneNumberId: 'pn-not-imported' });
    expect((await control(silent.monitor.controlUrl, { type: 'end-call' })).status).toBe(200);

    hook.statuses.push(503, 503); // the in-progress status-update fails twice, then gets through
    const phoneNumberId = await importNumber();
    const call = await startCall({ id: 'ctl-retry', phoneNumberId });
    expect((await control(call.monitor.controlUrl, { type: 'end-call' })).status).toBe(200);
    await eventually(async () => (hook.of('ctl-retry').length === 3 ? true : undefined));
    expect(types('ctl-retry')).toEqual(['status-update:in-progress', 'status-update:ended', 'end-of-call-report:']);
    expect(hook.statuses).toEqual([]); // both 503s were answered, so the first message was retried twice
    expect(hook.received.length - before).toBe(3);
    expect(hook.of('ctl-silent')).toEqual([]);
  });

  it('sent only webhook bodies, and was sent only control messages, that Vapi’s OpenAPI schemas describe', () => {
    const found: string[] = [];
    const seen = new Set<string>();
    for (const r of hook.received) {
      const m = r.body.message;
      seen.add(m.type);
      found.push(...problems(m.type === 'status-update' ? 'ServerMessageStatusUpdate' : 'ServerMessageEndOfCallReport', m));
      found.push(...problems('Call', m.call));
      found.push(...problems('Monitor', m.call.monitor));
    }
    const byType: Record<string, string> = { say: 'ClientInboundMessageSay', 'end-call': 'ClientInboundMessageEndCall', 'add-message': 'ClientInboundMessageAddMessage' };
    for (const m of sentControl) found.push(...problems(byType[m.type] ?? 'missing', m));
    expect(found).toEqual([]);
    // Both message kinds and all three control messages were validated, not skipped.
    expect([...seen].sort()).toEqual(['end-of-call-report', 'status-update']);
    expect(new Set(sentControl.map((m) => m.type))).toEqual(new Set(Object.keys(byType)));
  });
});
