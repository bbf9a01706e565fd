// Keeps every live call's hold and meter alive across a Redis that lost its data (failure modes
// 12 and 28): walks the open calls in Postgres page by page and, for each, copies its hold into
// Redis unless Redis already knows the call (so the Redis path counts it) — giving an entry Redis
// has on other terms the granted ones — and makes sure its next renewal is waiting in the
// call-meters queue. Runs with the call sweep; a plain function so tests
// can run one pass at a time.
//
// Open calls stay open when the sweep has looked at them, so a pass that always began at the
// first call id never reached the calls past its page budget (issue 22, item 6). Each pass
// carries on after the call the previous one stopped at (kept in Redis, workers/sweep-cursor.ts)
// and wraps to the first call past the last: every open call is visited within
// ceil(open calls ÷ (CALL_SWEEP_BATCH_SIZE × METER_SWEEP_MAX_PAGES)) passes.
//
// Each pass then prunes the index of the due sets (shared/calls/meter-due.ts prune()): the tags
// idle for DUE_INDEX_IDLE_MS whose due key is empty, so the pump and the sampler stop visiting
// slots no metered call uses any more. Here, not in the pump or the hot path: once per pass is
// plenty for an index that only has to stop growing, and the walk above re-indexes any key a
// renewal is waiting in, which covers a writer stalled past the idle window.
import type { Meters } from '../shared/calls/call-meter';
import type { CallStore, OpenMeter } from '../shared/calls/call-store';
import { DUE_INDEX_IDLE_MS, type MeterDue } from '../shared/calls/meter-due';
import type { RedisHolds } from '../shared/calls/redis-holds';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Services } from '../shared/process/services';
import { redisSweepCursor } from './sweep-cursor';
import { walkPages, type ResumeStore } from './walk-pages';

/** Pages one pass may walk; the next pass carries on from there (the list is ordered by call id). */
export const METER_SWEEP_MAX_PAGES = 20;

export interface MeterSweepDeps {
  store: CallStore;
  hot: RedisHolds;
  meters: Meters;
  due: MeterDue;
  metrics: Metrics;
  log: Logger;
  /** The gate's clock: the due index is scored by it. */
  clock: () => number;
  batchSize: number;
  maxPages: number;
  /** The call id the previous pass stopped at. */
  cursor: ResumeStore<string>;
}

export interface MeterSweepSummary {
  calls: number;
  metersCreated: number;
  /** Tags removed from the due index (idle and empty). */
  dueTagsPruned: number;
  errors: number;
}

export function meterSweepDeps(s: Services): MeterSweepDeps {
  return {
    store: s.calls.store,
    hot: s.calls.hot,
    meters: s.calls.meters,
    due: s.calls.due,
    metrics: s.metrics,
    log: s.log,
    clock: s.calls.clock,
    batchSize: s.config.callGate.sweepBatchSize,
    maxPages: METER_SWEEP_MAX_PAGES,
    cursor: redisSweepCursor(s.redis, s.keys.meterSweepCursor, s.log),
  };
}

async function repair(d: MeterSweepDeps, call: OpenMeter, summary: MeterSweepSummary): Promise<void> {
  // Copied unless Redis knows the call; an entry Redis has with other terms than the granted ones
  // (a late decide beside a Postgres-path answer whose adoption never ran) takes Postgres's.
  if ((await d.hot.mirror(call.org_id, [call.hold])) > 0) {
    d.metrics.callHoldRepairs.inc({ repair: 'terms_adopted', by: 'fill' });
    d.log.warn({ callId: call.hold.call_id, orgId: call.org_id }, 'meter sweep: a Redis hold took the terms Postgres granted');
  }
  const meter = await d.meters.ensure(call.org_id, call.hold, call.held_seconds ?? 0);
  if (meter === 'created' || meter === 'retried') {
    summary.metersCreated++;
    d.metrics.callHoldEvents.inc({ event: 'meter_recreated', store: 'queue' });
    d.log.warn({ callId: call.hold.call_id, orgId: call.org_id, meter }, 'meter sweep: a live call had no renewal waiting; re-created');
  }
}

export async function sweepMeters(d: MeterSweepDeps): Promise<MeterSweepSummary> {
  const summary: MeterSweepSummary = { calls: 0, metersCreated: 0, dueTagsPruned: 0, errors: 0 };
  await walkPages({
    page: (after: string | null) => d.store.openMeters(after, d.batchSize),
    cursorOf: (call) => call.hold.call_id,
    each: async (call) => {
      summary.calls++;
      try {
        await repair(d, call, summary);
      } catch (err) {
        // One call that cannot be repaired never stops the others (failure mode 29).
        summary.errors++;
        d.log.error({ callId: call.hold.call_id, err: (err as Error).message }, 'meter sweep: could not repair a call; next pass retries');
      }
    },
    pageSize: d.batchSize,
    maxPages: d.maxPages,
    resume: d.cursor,
  });
  await pruneDueIndex(d, summary);
  return summary;
}

async function pruneDueIndex(d: MeterSweepDeps, summary: MeterSweepSummary): Promise<void> {
  try {
    summary.dueTagsPruned = await d.due.prune(d.clock(), DUE_INDEX_IDLE_MS);
    d.metrics.meterDueTagsPruned.inc(summary.dueTagsPruned);
  } catch (err) {
    // An index left as it was costs only empty claims; the next pass tries again.
    summary.errors++;
    d.log.error({ err: (err as Error).message }, 'meter sweep: could not prune the due index; next pass retries');
  }
}
