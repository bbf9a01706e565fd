// Fixtures and payloads for the call-gate scenarios: funded organisations with registered
// numbers, and assistant-request bodies as Vapi sends them (a fresh call id per request).
import { randomUUID } from 'node:crypto';
import type { Services } from '../../shared/process/services';
import { fundedOrg } from './fixtures';
import { BENCH_VAPI_SECRET } from './world';

export interface GateNumber {
  orgId: string;
  e164: string;
  vapiPhoneNumberId: string;
}

/**
 * Real traffic spreads over many organisations, each with a handful of calls at once; one org
 * taking every call of the run would measure a hold list nobody has. Requests cycle over
 * `count` organisations (BENCH_GATE_ORGS), one number each, each funded with `topups` of
 * MAX_TOPUP. `first` offsets the numbers, so that two sets can live in one world.
 */
export async function gateNumbers(services: Services, count: number, options: { topups?: number; first?: number } = {}): Promise<GateNumber[]> {
  const { topups = 1, first = 0 } = options;
  const out: GateNumber[] = [];
  for (let i = first; i < first + count; i++) {
    const orgId = await fundedOrg(services, topups, `Bench Gate ${i}`);
    const e164 = `+1555${String(1_000_000 + i).slice(1)}`;
    const vapiPhoneNumberId = `pn-bench-${i}-${randomUUID().slice(0, 8)}`;
    const r = await services.store.registerPhoneNumber({ orgId, e164, vapiPhoneNumberId, assistantId: `asst-bench-${i}` });
    if (r.outcome !== 'registered') throw new Error(`bench number not registered: ${r.outcome}`);
    out.push({ orgId, e164, vapiPhoneNumberId });
  }
  return out;
}

export function assistantRequest(n: GateNumber, callId: string): string {
  return JSON.stringify({
    message: {
      type: 'assistant-request',
      timestamp: Date.now(),
      call: { id: callId, type: 'inboundPhoneCall', phoneNumberId: n.vapiPhoneNumberId, customer: { number: '+14155550100' } },
      phoneNumber: { id: n.vapiPhoneNumberId, number: n.e164 },
    },
  });
}

export const webhookHeaders = { 'x-vapi-secret': BENCH_VAPI_SECRET };

/** Per-request rewrite for autocannon: the next number, a new call id. */
export function assistantRequestRewriter(numbers: GateNumber[], tag: string) {
  let i = 0;
  return <R extends { body?: string }>(req: R): R => {
    const n = numbers[i % numbers.length]!;
    req.body = assistantRequest(n, `call-${tag}-${i++}`);
    return req;
  };
}

/** Fails the scenario early, with the reason, unless the server answers an allowed call. */
export async function expectAdmitted(baseUrl: string, n: GateNumber): Promise<void> {
  const res = await fetch(`${baseUrl}/api/vapi/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...webhookHeaders },
    body: assistantRequest(n, `probe-${randomUUID()}`),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('assistantId')) throw new Error(`assistant-request is not admitted (HTTP ${res.status} ${text.slice(0, 200)}): is the call gate on this branch?`);
}
