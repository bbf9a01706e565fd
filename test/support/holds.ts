// A Redis-path hold as call_gate_record_holds takes it (the JSON the hold recorder sends): a
// metered call at 56 per minute holding `slices` slices of 120 s, capped at 10 minutes. For the
// tests that write batches straight into Postgres.
import type { Pool } from 'pg';
import { eventually, type Patience } from './eventually';

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

/**
 * Waits until Postgres has the hold record of every one of the calls: the gate records Redis-path
 * holds in batches after it has answered, so a test that reads or changes the rows waits first.
 */
export async function holdsRecorded(pool: Pool, callIds: readonly string[], patience: Patience = {}): Promise<void> {
  await eventually(
    async () => (await pool.query<{ n: number }>('select count(*)::int as n from calls where call_id = any($1)', [callIds])).rows[0]?.n === callIds.length,
    { what: `the hold records of ${callIds.length} call(s) in Postgres`, ...patience },
  );
}
