// Records the holds the Redis path placed in Postgres (the durable copy the fallback path and the
// sweeper read) in small batches: one multi-row call_gate_record_holds per HOLD_RECORD_FLUSH_MS or
// per HOLD_RECORD_BATCH_MAX holds, whichever comes first, instead of one insert per call. Each
// add() resolves once its batch is written (or has failed, counted as
// wallet_failures_total{operation="call_hold_record"}); close() writes what is pending and waits
// for every batch in flight, so shutdown can close the pool only after it.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { CallStore, HoldRecord } from './call-store';
import { createBatcher } from './batcher';
import { withTimeout } from '../timeout';

/**
 * Longest a hold waits in memory before its batch is written (ms). 20, not 5: since a batch is one
 * statement (20261201000500), a batch's own cost (its wallet locks, its transaction) is a large
 * part of the whole, and at 9,000 answers/s batches of ≈ 45 every 5 ms fell behind under load
 * (Postgres still writing them after the load stopped), taking CPU from the answers. Bench a,
 * alternate runs: metered 75/82/76/82/74% of the bare route at 5 ms, 89/83/83/84/96% at 20.
 * The cost: a Redis-path hold reaches Postgres (the fallback's and the sweeper's copy) up to 20 ms
 * after its answer instead of 5 (docs/call-gate.md, "Redis and Postgres paths").
 */
export const HOLD_RECORD_FLUSH_MS = 20;
/** Holds per statement; a full batch is written at once (also the bound on what waits in memory). */
export const HOLD_RECORD_BATCH_MAX = 200;

export interface HoldRecorderOptions {
  store: CallStore;
  metrics: Metrics;
  log: Logger;
  /** Bound on one batch's statement (CALL_GATE_DATABASE_TIMEOUT_MS). */
  databaseTimeoutMs: number;
  flushMs?: number;
  batchMax?: number;
}


export function createHoldRecorder(o: HoldRecorderOptions) {
  function failed(holds: HoldRecord[], err: unknown): void {
    // The Redis holds still limit admission, and a metered call's renewal job writes its record
    // again (call_gate_record_holds); a full-policy call's lost report would now go unnoticed by
    // the sweeper. Visible in metrics and logs.
    o.metrics.walletFailures.inc({ operation: 'call_hold_record' }, holds.length);
    o.log.error({ holds: holds.length, callIds: holds.slice(0, 10).map((h) => h.call_id), err: (err as Error)?.message }, 'call gate: could not record holds in Postgres');
  }

  async function write(holds: HoldRecord[]): Promise<void> {
    try {
      const r = await withTimeout(o.store.recordHolds(holds), o.databaseTimeoutMs, 'postgres');
      if (r.rejected > 0) {
        // Each hold is written on its own (failure mode 25): the rejected ones are malformed or
        // name an organisation that does not exist; the rest of the batch is written.
        o.metrics.callHoldEvents.inc({ event: 'record_rejected', store: 'database' }, r.rejected);
        o.log.error({ rejected: r.rejected, callIds: r.rejected_call_ids }, 'call gate: holds rejected by Postgres');
      }
    } catch (err) {
      failed(holds, err);
    }
  }

  const batcher = createBatcher(write, {
    flushMs: o.flushMs ?? HOLD_RECORD_FLUSH_MS,
    batchMax: o.batchMax ?? HOLD_RECORD_BATCH_MAX,
    afterClose: (hold) => failed([hold], new Error('hold recorder closed (shutting down)')),
  });

  return {
    /** Queues one hold; resolves when its batch has been written or counted as failed. Never rejects. */
    add: (hold: HoldRecord): Promise<void> => batcher.add(hold),
    /** Writes what is pending and waits for every batch in flight; later holds are counted as failed. */
    close: (): Promise<void> => batcher.close(),
  };
}

export type HoldRecorder = ReturnType<typeof createHoldRecorder>;
