// zod at the Vapi edge: the few fields the gate reads, tolerant of everything else Vapi sends
// (large, evolving payloads). A field of the wrong type reads as absent rather than failing the
// whole message, because every message must still be answered with 200.
import { z } from 'zod';

const text = (max: number) => z.string().min(1).max(max).optional().catch(undefined);
const uuid = z.string().uuid().optional().catch(undefined);

// billingCallId: our id of an outbound call (CONTRACT §10), which we put there when placing it.
const metadata = z.looseObject({ orgId: uuid, billingCallId: uuid }).optional().catch(undefined);
/** The other party of the call (the caller of an inbound call), as Vapi sends it. */
const customer = z.looseObject({ number: text(40) }).optional().catch(undefined);

const call = z
  .looseObject({
    id: text(200),
    phoneNumberId: text(200),
    status: text(50),
    startedAt: text(64),
    endedAt: text(64),
    endedReason: text(200),
    metadata,
    assistantOverrides: z.looseObject({ metadata }).optional().catch(undefined),
    // Live call control (reference/vapi.md): a secret; checked against VAPI_CONTROL_HOSTS before use.
    monitor: z.looseObject({ controlUrl: text(2000) }).optional().catch(undefined),
    customer,
  })
  .optional()
  .catch(undefined);

const phoneNumber = z.looseObject({ id: text(200), number: text(20) }).optional().catch(undefined);

export const vapiMessage = z.looseObject({
  type: z.string().min(1).max(100),
  status: text(50),
  endedReason: text(200),
  startedAt: text(64),
  endedAt: text(64),
  durationSeconds: z.number().finite().nonnegative().max(1_000_000).optional().catch(undefined),
  call,
  phoneNumber,
  customer,
});
export type VapiMessage = z.output<typeof vapiMessage>;

export const vapiEnvelope = z.looseObject({ message: vapiMessage });

/**
 * The message keyed by our call id: an outbound call we placed carries it as
 * metadata.billingCallId (outbound-calls.ts), and its hold, report, control URL and charge are
 * kept under it, never under Vapi's id (which did not exist when the call was admitted). Other
 * messages are returned as they are.
 */
export function keyedByOurCallId(m: VapiMessage): VapiMessage {
  const ours = outboundCallId(m);
  if (ours === undefined || m.call === undefined || m.call.id === ours) return m;
  return { ...m, call: { ...m.call, id: ours } };
}

/** Our id of an outbound call we placed (its metadata.billingCallId), if the message is about one. */
export function outboundCallId(m: VapiMessage): string | undefined {
  return m.call?.metadata?.billingCallId ?? m.call?.assistantOverrides?.metadata?.billingCallId;
}

/** The organisation our own assistant-request answer put into the call's metadata, if any. */
export function metadataOrgId(m: VapiMessage): string | undefined {
  return m.call?.metadata?.orgId ?? m.call?.assistantOverrides?.metadata?.orgId;
}

// Years 0001..9999: what Postgres's timestamptz parses from an ISO string. JavaScript dates reach
// ±275760, written "+275760-…"/"-271821-…", which Postgres refuses: the report would be lost.
const MIN_TIMESTAMP_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** An ISO-8601 timestamp Postgres will accept, or null (absent, unparseable, or out of range). */
export function isoOrNull(value: string | undefined): string | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS ? new Date(ms).toISOString() : null;
}

/** What the call gate reads of an assistant-request: nothing else of the (large) message. */
export interface GateRequest {
  callId: string | undefined;
  vapiPhoneNumberId: string | null;
  e164: string | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The same rule as `text(max)` above: a string of 1..max UTF-16 units, else absent. */
const textOf = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length >= 1 && v.length <= max ? v : undefined);

/**
 * The hot path's reading of an already JSON-parsed body (issue 15): when it is an
 * assistant-request that carries no control URL, the few fields the gate reads, checked by the
 * same rules as `vapiEnvelope` (test/calls/vapi-gate-fields.test.ts proves them equal); otherwise
 * undefined, and the caller parses the whole message with zod. The full parse copied and checked
 * every field of Vapi's payload (the call, the assistant, the customer) only to use three.
 */
export function gateRequestOf(body: unknown): GateRequest | undefined {
  if (!isRecord(body)) return undefined;
  const m = body.message;
  if (!isRecord(m) || m.type !== 'assistant-request') return undefined;
  const call = isRecord(m.call) ? m.call : undefined;
  // A control URL is learned from any message (validated, stored): leave that to the full path.
  if (call !== undefined && isRecord(call.monitor) && call.monitor.controlUrl !== undefined) return undefined;
  const phoneNumber = isRecord(m.phoneNumber) ? m.phoneNumber : undefined;
  return {
    callId: textOf(call?.id, 200),
    vapiPhoneNumberId: textOf(call?.phoneNumberId, 200) ?? textOf(phoneNumber?.id, 200) ?? null,
    e164: textOf(phoneNumber?.number, 20) ?? null,
  };
}
