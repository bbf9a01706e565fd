// The call gate's long-lived parts, built once per process from the shared services.
import type { Config } from '../config';
import type { Rpc } from '../db/rpc';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RedisClient, RedisKeys } from '../redis';
import type { WalletService } from '../wallet/wallet-service';
import type { Queues } from '../queues/queues';
import type { VapiCallsClient } from '../clients/vapi-client';
import { releaseSettledHold, type CallBillingDeps } from './call-billing';
import { createCallGate, type CallGate, type GateDecision } from './call-gate';
import { createMeters, type Meters } from './call-meter';
import { createMeterDue, type MeterDue } from './meter-due';
import { createHoldRecorder } from './hold-recorder';
import type { CallReportDeps } from './call-reports';
import { createCallStore, holdRecord, type CallStore } from './call-store';
import { createNumberResolver, NUMBER_LOCAL_CACHE_MS, RedisCircuitOpenError } from './number-resolver';
import { createRedisBreaker, type RedisBreaker } from './redis-breaker';
import { StoreTimeoutError, withTimeout } from '../timeout';
import { createRedisHolds, type RedisHolds } from './redis-holds';

export interface CallServices {
  store: CallStore;
  hot: RedisHolds;
  gate: CallGate;
  meters: Meters;
  /** The due set of first renewals the Redis-path admission writes; the meter pump drains it. */
  due: MeterDue;
  /** The gate's and the meter's clock (the due set is scored by it, so the pump reads it too). */
  clock: () => number;
  /** The gate's Redis circuit breaker (state for tests and operators; metrics count its changes). */
  breaker: RedisBreaker;
  /**
   * After answering an admission: the durable record of a Redis-path hold (batched); for a
   * Postgres-path hold, its copy in Redis and the first renewal of a metered call (batched). A
   * Redis-path hold's first renewal is already in the due set (written by the admission itself).
   */
  admitted(decision: GateDecision): Promise<void>;
  reports: CallReportDeps;
  billing: CallBillingDeps;
  vapiCalls: VapiCallsClient;
  /** Shutdown: writes the hold records and meters still waiting for their batch. Await before the pool closes. */
  close(): Promise<void>;
}

export interface CallServiceParts {
  config: Config;
  rpc: Rpc;
  redis: RedisClient;
  keys: RedisKeys;
  wallet: WalletService;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  vapi: VapiCallsClient;
  /** The gate's and the meter's clock (ms since the epoch); Date.now unless a test moves it. */
  clock?: () => number;
  /** The billing clock's offset in ms (the daily spend's day); 0 unless sandbox mode moved it. */
  billingOffsetMs?: () => number;
}

export function createCallServices(p: CallServiceParts): CallServices {
  const { config, metrics, log } = p;
  const store = createCallStore(p.rpc);
  const clock = p.clock ?? Date.now;
  const hot = createRedisHolds(p.redis, p.keys, config.limits.balanceCacheTtlSeconds, clock);
  // One breaker for the gate's two Redis steps (number lookup, admission): see redis-breaker.ts.
  const breaker = createRedisBreaker({ metrics, log, failures: config.callGate.breakerFailures, coolDownMs: config.callGate.breakerCoolDownMs });
  const numbers = createNumberResolver({
    redis: p.redis,
    keys: p.keys,
    store,
    ttlSeconds: config.callGate.numberCacheTtlSeconds,
    localCacheMs: NUMBER_LOCAL_CACHE_MS,
    redisTimeoutMs: config.callGate.redisTimeoutMs,
    databaseTimeoutMs: config.callGate.databaseTimeoutMs,
    onRedisFailure: (err) =>
      metrics.fallbacks.inc({ gate: 'call', to: 'database', reason: err instanceof StoreTimeoutError ? 'redis_timeout' : err instanceof RedisCircuitOpenError ? 'circuit_open' : 'redis_error' }),
    breaker,
  });
  const billingOffsetMs = p.billingOffsetMs ?? (() => 0);
  const gate = createCallGate({ config, metrics, log, store, numbers, hot, clock, billingOffsetMs, breaker });
  const recorder = createHoldRecorder({ store, metrics, log, databaseTimeoutMs: config.callGate.databaseTimeoutMs });
  const due = createMeterDue(p.redis, p.keys, clock);
  const { holdGraceSeconds, holdPolicy, redisTimeoutMs } = config.callGate;
  const billing: CallBillingDeps = { store, wallet: p.wallet, hot, pricing: config.pricing, metrics, log, holdGraceSeconds };
  const meters = createMeters({
    config,
    store,
    hot,
    due,
    redis: p.redis,
    keys: p.keys,
    queues: p.queues,
    metrics,
    log,
    clock,
    vapi: p.vapi,
    billingOffsetMs,
    record: (h) => recorder.add(h),
    releaseSettled: (orgId, callId) => releaseSettledHold(billing, orgId, callId, 'renewal'),
  });

  async function admitted(decision: GateDecision): Promise<void> {
    if (decision.kind !== 'allowed' || decision.placed === undefined) return;
    const { hold, heldSeconds } = decision.placed;
    const work: Array<Promise<void>> = [];
    // A Redis-path admission wrote its first renewal into the due set in the same Lua step (no
    // BullMQ job on the hot path, and no meter lost if this process dies now); a Postgres-path
    // one still schedules it here, and the meter sweep repairs it if that fails.
    if (decision.path === 'cache') work.push(recorder.add(holdRecord(decision.orgId, hold, holdPolicy, heldSeconds)));
    else work.push(meters.start(decision.orgId, hold, heldSeconds));
    // Even while the breaker is open: the breaker only spares the answer a wait on Redis; a Redis
    // that is back (or was only slow) must count this hold before its path decides again, or it
    // admits on money this hold took. A dead Redis refuses at once; a slow one costs a background
    // wait bounded by the Redis timeout. What still fails is copied by the meter sweep. A
    // connection that is not 'ready' would refuse the command at once (no offline queue), so it is
    // not built at all: during an outage every decision comes here.
    //
    // It is an adoption, not only a copy (issue 22, item 2): Vapi was given Postgres's terms, so
    // the Redis entry must hold exactly those, even if the decide this Redis stalled on lands
    // first and writes its own (planned on Redis's balance). Sent on the same connection, after
    // that decide, so Redis runs it after any entry the decide writes. Given up on after the
    // Redis timeout, it is still sent and run in order; if it never runs, the meter sweep's copy
    // adopts Postgres's terms too (call_gate_fill).
    if (decision.path === 'database_fallback' && p.redis.status === 'ready') {
      const adopting = hot.adopt(decision.orgId, hold, { ratePerMinute: config.pricing.callRatePerMinute, holdSeconds: config.callGate.holdSeconds });
      void adopting.then(
        (outcome) => {
          if (outcome === 'added') metrics.callHoldEvents.inc({ event: 'mirrored', store: 'cache' });
          if (outcome !== 'adopted') return;
          metrics.callHoldRepairs.inc({ repair: 'terms_adopted', by: 'gate' });
          log.warn({ callId: hold.call_id, orgId: decision.orgId }, 'call gate: a late Redis entry took the terms the Postgres path granted');
        },
        () => undefined,
      );
      work.push(withTimeout(adopting, redisTimeoutMs, 'redis').then(() => undefined, () => undefined));
    }
    await Promise.all(work);
  }

  return {
    store,
    hot,
    gate,
    meters,
    due,
    clock,
    breaker,
    admitted,
    reports: {
      store,
      queues: p.queues,
      hot,
      numbers,
      meters,
      log,
      metrics,
      pricing: config.pricing,
      holdPolicy,
      holdGraceSeconds,
      releaseSettled: (orgId, callId) => releaseSettledHold(billing, orgId, callId, 'ended'),
    },
    billing,
    vapiCalls: p.vapi,
    close: async () => {
      // The gate first: an admission still waiting for its batch goes out while the pool is open.
      await gate.close();
      // Then meters: a renewal in flight may still add a record to the recorder's batch.
      await meters.close();
      await recorder.close();
    },
  };
}
