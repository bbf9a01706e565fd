// Proves the sandbox Vapi call simulator speaks the wire format the sweeper's client expects:
// GET /call/:id in Vapi's shape after the sandbox-only control endpoints create and end a call,
// 404 for unknown calls, 401 without a Bearer key, 400 for a bad control body; each call names its
// monitor.controlUrl on the simulator.
import { createVapiClient } from '../../shared/clients/vapi-client';
import { startVapiCallSimulator } from '../support/vapi';

describe('Vapi call simulator and client', () => {
  let sim: Awaited<ReturnType<typeof startVapiCallSimulator>>;
  beforeAll(async () => {
    sim = await startVapiCallSimulator();
  });
  afterAll(async () => sim.close());
  const post = (path: string, body: unknown) => fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('serves a created and ended call through GET /call/:id', async () => {
    const client = createVapiClient({ apiBaseUrl: sim.url, apiKey: 'any-key', timeoutMs: 2000 });
    const created = await post('/sandbox/calls', { id: 'sim-1', phoneNumberId: 'pn-1', startedAt: '2026-11-23T12:00:00.000Z' });
    expect(created.status).toBe(201);
    // The test helper's simulator also serves the call's control URL (test/sandbox/vapi-call-control.test.ts).
    expect(((await created.json()) as { monitor: { controlUrl: string } }).monitor.controlUrl).toBe(`${sim.url}/call/sim-1/control`);
    expect(await client.getCall('sim-1')).toMatchObject({ kind: 'found', call: { id: 'sim-1', status: 'in-progress', startedAt: '2026-11-23T12:00:00.000Z', endedAt: null } });
    expect((await post('/sandbox/calls/sim-1/end', { endedAt: '2026-11-23T12:01:30.000Z' })).status).toBe(200);
    expect(await client.getCall('sim-1')).toMatchObject({
      kind: 'found',
      call: { id: 'sim-1', status: 'ended', startedAt: '2026-11-23T12:00:00.000Z', endedAt: '2026-11-23T12:01:30.000Z', endedReason: 'customer-ended-call', phoneNumberId: 'pn-1' },
    });
    expect(await client.getCall('sim-unknown')).toEqual({ kind: 'not_found' });
  });

  it('answers 401 without a Bearer key and 400 to a bad control body', async () => {
    expect((await fetch(`${sim.url}/call/sim-1`)).status).toBe(401);
    expect((await post('/sandbox/calls', { startedAt: 'yesterday' })).status).toBe(400);
    expect((await post('/sandbox/calls', { unknownField: 1 })).status).toBe(400);
    expect((await post('/sandbox/calls/nope/end', {})).status).toBe(404);
  });

  it('reports an unreachable Vapi API as an error, not as a missing call', async () => {
    const client = createVapiClient({ apiBaseUrl: 'http://127.0.0.1:9', apiKey: 'k', timeoutMs: 1000 });
    await expect(client.getCall('x')).rejects.toThrow(/fetch failed/);
  });
});
