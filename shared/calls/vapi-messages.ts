// zod at the Vapi edge: the few fields the gate reads, tolerant of everything else Vapi sends
// (large, evolving payloads). A field of the wrong type reads as absent rather than failing the
// whole message, because every message must still be answered with 200.
import { z } from 'zod';

const text = (max: number) => z.string().min(1).max(max).optional().catch(undefined);
const uuid = z.string().uuid().optional().catch(undefined);

const metadata = z.looseObject({ orgId: uuid }).optional().catch(undefined);

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
});
export type VapiMessage = z.output<typeof vapiMessage>;

export const vapiEnvelope = z.looseObject({ message: vapiMessage });

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
