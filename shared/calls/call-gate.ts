// The call gate: decides one assistant-request. Hot path = one number lookup (usually from
// process memory) and one atomic Redis step that probes, plans and holds, then the answer. Redis erring
// or slower than CALL_GATE_REDIS_TIMEOUT_MS → the same steps against Postgres. Both unavailable
// → CALL_GATE_FAIL_MODE, as when the whole decision outlasts CALL_GATE_DECISION_DEADLINE_MS.
// A store that answers after the gate gave up on it may still have placed a hold: when the call
// was refused after all, that hold is taken back (failure mode 24). Every decision is counted
// (gate 'call', outcome, path). A Redis that keeps failing is skipped for a cool-down by the
// circuit breaker (redis-breaker.ts): decisions then go straight to Postgres.
// Postgres-path admissions waiting at the same moment go to Postgres together, in one transaction
// (call_gate_admit_batch): each still has its own answer, deadline and late-hold handling.
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { defaultCallRate, type CallRate } from '../pricing';
import { createResultBatcher } from './batcher';
import { admitTermsOf, callRateOf, holdRate, rateFields, type AdmitCall, type BatchAdmission, type CallStore, type ControlRefusal, type HoldStep, type StoredHold } from './call-store';
import { secondsPaidFor } from './hold-policy';
import type { NumberLookup, NumberResolver } from './number-resolver';
import { throttledLog } from './outage-log';
import type { RedisBreaker } from './redis-breaker';
import type { HoldTerms, RedisDecision, RedisHolds } from './redis-holds';
import { StoreTimeoutError, withTimeout } from '../timeout';

export type GatePath = 'cache' | 'database_fallback' | 'fail_mode';
export type RefusalReason =
  | 'insufficient_funds'
  | 'wallet_frozen'
  | 'concurrency_limit'
  | 'daily_spend_limit'
  | 'unknown_number'
  | 'number_past_due'
  | 'no_assistant'
  | 'unavailable'
  | 'invalid_request';

/** The spend control (CONTRACT §8 name, as in the metric) behind each control refusal. */
const CONTROL_OF: Record<ControlRefusal, RefusalReason> = {
  wallet_frozen: 'wallet_frozen',
  maxConcurrentCalls: 'concurrency_limit',
  dailySpendLimit: 'daily_spend_limit',
};

/** A hold this decision placed (not an earlier one of the same call), with what it pays for. */
export interface PlacedHold {
  hold: StoredHold;
  heldSeconds: number;
}

export type GateDecision =
  | {
      kind: 'allowed';
      callId: string;
      orgId: string;
      assistantId: string;
      maxDurationSeconds: number;
      holdAmount: number;
      path: GatePath;
      /** The hold placed by this decision; undefined for a repeated request or fail-open. */
      placed: PlacedHold | undefined;
    }
  | { kind: 'refused'; reason: RefusalReason; message: string; path: GatePath };

/** Sentences Vapi speaks to the caller (never empty: Vapi would say "Unknown Error"). */
export const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  insufficient_funds: 'Sorry, this line cannot take calls right now because the account is out of credit. Please try again later.',
  // Spend controls (CONTRACT §8): say why in plain words, and never "out of credit" when it is not.
  wallet_frozen: 'Sorry, this line cannot take calls right now because the account has been suspended. Please contact the business another way.',
  concurrency_limit: 'Sorry, this line is already taking as many calls at once as its owner allows. Please try again in a few minutes.',
  daily_spend_limit: 'Sorry, this line has reached the spending limit its owner set for today, so it cannot take your call. Please try again tomorrow.',
  unknown_number: 'Sorry, the number you have called is not in service. Goodbye.',
  // Issue 24: the number's monthly rental is unpaid (it is released if it stays so past the grace).
  number_past_due: 'Sorry, this number cannot take calls right now because its monthly rental has not been paid. Please try again later.',
  no_assistant: 'Sorry, this number is not set up to take calls yet. Please try again later.',
  unavailable: 'Sorry, we cannot take your call right now. Please try again in a few minutes.',
  invalid_request: 'Sorry, we could not connect your call. Please try again.',
};

class RedisUnavailable extends Error {
  constructor(readonly reason: 'redis_timeout' | 'redis_error', cause: unknown) {
    super(`redis unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface CallGateDeps {
  config: Config;
  metrics: Metrics;
  log: Logger;
  store: CallStore;
  numbers: NumberResolver;
  hot: RedisHolds;
  /** The decision's clock (ms since the epoch): tests move it across the UTC day boundary. */
  clock: () => number;
  /** The billing clock's offset (ms; shared/rental/billing-clock.ts): moves the daily spend's day only. */
  billingOffsetMs: () => number;
  /** Shared with the number resolver, so both stop paying for a dead Redis together. */
  breaker: RedisBreaker;
}

/**
 * The longest a Postgres-path admission waits for others to share its transaction while its
 * lane's batch is out (ms); an admission that finds its lane idle is sent at once. 5, not 2: a
 * batch under load takes ≈ 3–4 ms, and a shorter window sent a second batch of the same lane
 * beside it, waiting on its wallet locks (bench b, alternate runs: 4,834–5,702 req/s at 2 ms,
 * 5,242–5,787 at 5). It is also how long a hung batch (a locked wallet) holds the next one.
 */
export const ADMIT_BATCH_FLUSH_MS = 5;
/** Admissions per transaction; at most 64 (call_gate_admit_batch, one subtransaction xid each). */
export const ADMIT_BATCH_MAX = 32;
/**
 * Admission transactions in flight at once, one per lane; an organisation always uses the same
 * lane, so two lanes' transactions never wait on each other's wallet locks. One lane left
 * Postgres idle while the process gathered the next batch; two keep it busy (bench b: +8 to +26%
 * on two cores; four were no better than one there, each batch being too small to pay for its
 * transaction). See docs/call-gate.md, "The Postgres path in batches".
 */
export const ADMIT_LANES = 2;

/** The lane of an organisation: from the last hex digits of its uuid (random in v4 ids). */
export function admitLaneOf(orgId: string): number {
  return (Number.parseInt(orgId.slice(-4), 16) || 0) % ADMIT_LANES;
}

type Admission =
  | { kind: 'allowed'; holdAmount: number; maxDurationSeconds: number; placed: PlacedHold | undefined }
  | { kind: 'refused'; reason: RefusalReason };

/** A store call the gate stopped waiting for: it may still place a hold. */
interface LateStep {
  store: 'cache' | 'database_fallback';
  orgId: string;
  /** Resolves true when the step, once it lands, placed a hold. */
  placed: Promise<boolean>;
}

function admission(step: HoldStep | RedisDecision, placed: PlacedHold | undefined): Admission {
  switch (step.outcome) {
    case 'existing':
      return { kind: 'allowed', holdAmount: step.hold_amount, maxDurationSeconds: step.max_duration_seconds, placed: undefined };
    case 'held':
      return { kind: 'allowed', holdAmount: step.hold_amount, maxDurationSeconds: step.max_duration_seconds, placed };
    case 'refused':
      return { kind: 'refused', reason: CONTROL_OF[step.reason] };
    case 'available':
    case 'not_found':
      return { kind: 'refused', reason: 'insufficient_funds' };
    case 'miss':
      throw new Error('invariant violated: a cache miss reached the admission');
  }
}

/** The other way round, for the metric (CONTRACT §8 names): built once, read per refusal. */
const CONTROL_BY_REASON = new Map<RefusalReason, ControlRefusal>(Object.entries(CONTROL_OF).map(([control, reason]) => [reason, control as ControlRefusal]));

export function createCallGate(d: CallGateDeps) {
  const { pricing, callGate } = d.config;
  // What both atomic steps plan with: the prices come from Config.pricing and the bounds from
  // pricing.ts, so the Lua and SQL plans compute planHold() (proven in test/calls), not their own.
  const admitTerms = admitTermsOf(d.config);
  const defaultRate = defaultCallRate(pricing);
  const lanes = Array.from({ length: ADMIT_LANES }, () =>
    createResultBatcher<AdmitCall, BatchAdmission>((calls) => d.store.admitMany(admitTerms, calls), {
      flushMs: ADMIT_BATCH_FLUSH_MS,
      batchMax: ADMIT_BATCH_MAX,
      sendWhenIdle: true,
      onFlush: (size) => d.metrics.admitBatchSize.observe(size),
    }),
  );
  /** One admission through its lane's batch: an element that raised fails this admission as a failed admit() did. */
  const admitOne = (call: AdmitCall): Promise<HoldStep> =>
    lanes[admitLaneOf(call.orgId)]!.add(call).then((r) => {
      if (r.outcome === 'error') throw new Error(`call_gate_admit failed: ${r.message}`);
      // A hold answered to the wrong caller would admit a call nothing holds money for.
      if (r.outcome === 'held' && r.hold.call_id !== call.callId) throw new Error(`invariant violated: the batch answered ${call.callId} with the hold of ${r.hold.call_id}`);
      return r;
    });

  /** Waits at most `timeoutMs` for `work`; a step given up on is remembered in `late`. */
  async function bounded<T extends HoldStep | RedisDecision>(work: Promise<T>, store: LateStep['store'], orgId: string, late: LateStep[]): Promise<T> {
    const timeoutMs = store === 'cache' ? callGate.redisTimeoutMs : callGate.databaseTimeoutMs;
    try {
      return await withTimeout(work, timeoutMs, store === 'cache' ? 'redis' : 'postgres');
    } catch (err) {
      if (err instanceof StoreTimeoutError) late.push({ store, orgId, placed: work.then((x) => x.outcome === 'held', () => false) });
      throw err;
    }
  }

  // Bound once per outcome and path (a handful): the decision counter runs on every request.
  const counters = new Map<string, ReturnType<Metrics['gateDecisions']['labels']>>();
  const fallbackToDatabase = new Map<string, ReturnType<Metrics['fallbacks']['labels']>>();
  const fellBack = (reason: string) => {
    let c = fallbackToDatabase.get(reason);
    if (c === undefined) fallbackToDatabase.set(reason, (c = d.metrics.fallbacks.labels('call', 'database', reason)));
    c.inc();
  };
  // Once per 10 s at most: during an outage this would be one synchronous stdout write per decision.
  const warnFallback = throttledLog(d.log, 'warn', 'call gate: deciding from Postgres');

  const toRedisError = (err: unknown) => new RedisUnavailable(err instanceof StoreTimeoutError ? 'redis_timeout' : 'redis_error', err);

  /** One Redis round trip (call_gate_decide); on a cache miss, a read-through fill and one more. */
  async function admitOnRedis(orgId: string, callId: string, rate: CallRate, late: LateStep[]): Promise<Admission> {
    const callTerms: HoldTerms = rate === defaultRate ? admitTerms : { ...admitTerms, ratePerMinute: rate.ratePerMinute, rate };
    const decide = async () => {
      const nowMs = d.clock();
      const s = await bounded(d.hot.decide(orgId, callId, callTerms, nowMs, d.billingOffsetMs()), 'cache', orgId, late).catch((err: unknown) => {
        throw toRedisError(err);
      });
      return { s, nowMs };
    };
    let { s, nowMs } = await decide();
    if (s.outcome === 'miss') {
      // Cache miss: read through from Postgres (wallet version-guarded, holds merged), then decide.
      const snap = await withTimeout(d.store.gateSnapshot(orgId), callGate.databaseTimeoutMs, 'postgres');
      if (snap.outcome === 'not_found') return { kind: 'refused', reason: 'insufficient_funds' };
      const { adopted } = await withTimeout(d.hot.fill(orgId, snap), callGate.redisTimeoutMs, 'redis').catch((err: unknown) => {
        throw toRedisError(err);
      });
      if (adopted > 0) d.metrics.callHoldRepairs.inc({ repair: 'terms_adopted', by: 'fill' }, adopted);
      ({ s, nowMs } = await decide());
      if (s.outcome === 'miss') return { kind: 'refused', reason: 'insufficient_funds' };
    }
    if (s.outcome !== 'held') return admission(s, undefined);
    const hold: StoredHold = {
      call_id: callId,
      state: 'held',
      amount: s.hold_amount,
      max_duration_seconds: s.max_duration_seconds,
      expires_at_ms: s.expires_at_ms,
      admitted_at_ms: nowMs,
      cap: s.cap,
      slices: 1,
      ...rateFields(rate),
    };
    return admission(s, { hold, heldSeconds: s.held_seconds });
  }

  /**
   * call_gate_admit under the wallet row lock, in a transaction shared with the admissions waiting
   * at the same moment. The bound covers the wait for company too; given up on, the element is a
   * late step of its own, whose hold is taken back if it lands held (the batch's others unaffected).
   */
  async function admitOnPostgres(orgId: string, callId: string, rate: CallRate, late: LateStep[]): Promise<Admission> {
    const step = await bounded(admitOne({ orgId, callId, nowMs: d.clock(), rate }), 'database_fallback', orgId, late);
    if (step.outcome !== 'held') return admission(step, undefined);
    return admission(step, { hold: step.hold, heldSeconds: secondsPaidFor(pricing, step.hold.amount, step.hold.max_duration_seconds, holdRate(step.hold, defaultRate)) });
  }

  function count(decision: GateDecision): GateDecision {
    const outcome = decision.kind === 'allowed' ? 'allowed' : `refused_${decision.reason}`;
    const key = `${outcome} ${decision.path}`;
    let c = counters.get(key);
    if (c === undefined) counters.set(key, (c = d.metrics.gateDecisions.labels('call', outcome, decision.path)));
    c.inc();
    if (decision.kind === 'refused') {
      const control = CONTROL_BY_REASON.get(decision.reason);
      if (control !== undefined) d.metrics.spendControls.inc({ control, surface: 'call', outcome: 'refused' });
    }
    return decision;
  }

  function failMode(callId: string, orgId: string | undefined, assistantId: string | undefined, err: unknown, reason: 'stores_unavailable' | 'deadline' = 'stores_unavailable'): GateDecision {
    d.metrics.fallbacks.inc({ gate: 'call', to: 'fail_mode', reason });
    d.log.error({ callId, orgId, failMode: callGate.failMode, err: (err as Error)?.message }, 'call gate: neither Redis nor Postgres answered');
    if (callGate.failMode === 'open' && orgId !== undefined && assistantId !== undefined) {
      return { kind: 'allowed', callId, orgId, assistantId, maxDurationSeconds: callGate.failOpenMaxDurationSeconds, holdAmount: 0, path: 'fail_mode', placed: undefined };
    }
    return { kind: 'refused', reason: 'unavailable', message: REFUSAL_MESSAGES.unavailable, path: 'fail_mode' };
  }

  const refuse = (reason: RefusalReason, path: GatePath): GateDecision => ({ kind: 'refused', reason, message: REFUSAL_MESSAGES[reason], path });

  async function decideWithin(callId: string | undefined, lookup: NumberLookup, late: LateStep[]): Promise<GateDecision> {
    if (callId === undefined || (lookup.vapiPhoneNumberId === null && lookup.e164 === null)) return refuse('invalid_request', 'cache');
    const resolution = await d.numbers.resolve(lookup);
    if (resolution.kind === 'unavailable') return failMode(callId, undefined, undefined, resolution.databaseError);
    const redisFailed = resolution.redisFailed;
    const numberPath: GatePath = redisFailed ? 'database_fallback' : 'cache';
    if (resolution.kind === 'not_found') return refuse('unknown_number', numberPath);
    const { orgId, assistantId, status } = resolution.number;
    // Issue 24: a number whose rent is unpaid takes no call; one being released is out of service.
    if (status === 'past_due') return refuse('number_past_due', numberPath);
    if (status === 'releasing') return refuse('unknown_number', numberPath);
    if (assistantId === null) return refuse('no_assistant', numberPath);
    // Rated by the number called (CONTRACT §10), looked up with the number; fixed from here on.
    const rate = callRateOf(resolution.number.rate, defaultRate);

    const allowed = (a: Extract<Admission, { kind: 'allowed' }>, path: GatePath): GateDecision => ({
      kind: 'allowed',
      callId,
      orgId,
      assistantId,
      maxDurationSeconds: a.maxDurationSeconds,
      holdAmount: a.holdAmount,
      path,
      placed: a.placed,
    });

    if (!redisFailed && !d.breaker.allow()) {
      fellBack('circuit_open'); // the breaker is open: Redis is not asked at all
    } else if (!redisFailed) {
      try {
        const a = await admitOnRedis(orgId, callId, rate, late);
        d.breaker.success();
        return a.kind === 'allowed' ? allowed(a, 'cache') : refuse(a.reason, 'cache');
      } catch (err) {
        // Postgres failing during a cache fill: Redis is up but cannot decide alone.
        if (!(err instanceof RedisUnavailable)) {
          d.breaker.success();
          return failMode(callId, orgId, assistantId, err);
        }
        d.breaker.failure();
        fellBack(err.reason);
        warnFallback({ callId, orgId, err: err.message });
      }
    }
    try {
      const a = await admitOnPostgres(orgId, callId, rate, late);
      return a.kind === 'allowed' ? allowed(a, 'database_fallback') : refuse(a.reason, 'database_fallback');
    } catch (err) {
      return failMode(callId, orgId, assistantId, err);
    }
  }

  async function takeBack(store: LateStep['store'], orgId: string, callId: string): Promise<void> {
    try {
      const taken = store === 'cache' ? await d.hot.cancel(orgId, callId) : (await d.store.cancelHold(callId), true);
      if (!taken) return;
      d.metrics.callHoldEvents.inc({ event: 'compensated', store });
      d.log.warn({ callId, orgId, store }, 'call gate: took back a hold a store placed after the gate gave up on it');
    } catch (err) {
      d.log.error({ callId, orgId, store, err: (err as Error).message }, 'call gate: could not take back a late hold; it expires with the call');
    }
  }

  /** Takes back, once they land, holds that late stores placed for a call that was refused after all. */
  function compensate(callId: string, final: GateDecision, late: LateStep[]): void {
    if (final.kind === 'allowed') return; // every late hold belongs to a call that is going ahead
    for (const step of late) void step.placed.then((placed) => (placed ? takeBack(step.store, step.orgId, callId) : undefined));
  }

  return {
    /** Sends the admissions still waiting for company and waits for every batch in flight; later ones fail (fail mode). */
    close: async (): Promise<void> => {
      await Promise.all(lanes.map((lane) => lane.close()));
    },
    /** The decision, counted; past CALL_GATE_DECISION_DEADLINE_MS the fail mode answers (no organisation known then). */
    async decide(callId: string | undefined, lookup: NumberLookup): Promise<GateDecision> {
      const late: LateStep[] = [];
      const within = decideWithin(callId, lookup, late);
      let decision: GateDecision;
      try {
        decision = await withTimeout(within, callGate.decisionDeadlineMs, 'postgres');
      } catch (err) {
        decision = failMode(callId ?? 'unknown', undefined, undefined, err, 'deadline');
        // The decision still running may yet place a hold for this now-refused call.
        if (callId !== undefined && decision.kind === 'refused') {
          void within.then(
            (w) => (w.kind === 'allowed' && w.placed !== undefined && w.path !== 'fail_mode' ? takeBack(w.path, w.orgId, callId) : undefined),
            () => undefined,
          );
        }
      }
      if (callId !== undefined) compensate(callId, decision, late);
      return count(decision);
    },
  };
}

export type CallGate = ReturnType<typeof createCallGate>;
