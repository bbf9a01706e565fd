// A Redis-path hold as call_gate_record_holds takes it (the JSON the hold recorder sends): a
// metered call at 56 per minute holding `slices` slices of 120 s, capped at 10 minutes. For the
// tests that write batches straight into Postgres.
export type RecordedHold = Record<string, unknown>;

export function meteredHold(callId: string, orgId: unknown, o: { nowMs?: number; slices?: number; endedAtMs?: number | null } = {}): RecordedHold {
  const now = o.nowMs ?? Date.now();
  const slices = o.slices ?? 1;
  return {
    call_id: callId,
    org_id: orgId,
    amount: 112 * slices,
    max_duration_seconds: 600,
    expires_at_ms: now + 630_000,
    admitted_at_ms: now,
    policy: 'metered',
    cap: 560,
    held_seconds: 120 * slices,
    slices,
    ...(o.endedAtMs === undefined || o.endedAtMs === null ? {} : { ended_at_ms: o.endedAtMs }),
  };
}
