// The call gate: decides one assistant-request. Hot path = one number lookup (usually from
// process memory) and one atomic Redis step that probes, plans and holds, then the answer. Redis erring
// or slower than CALL_GATE_REDIS_TIMEOUT_MS → the same steps against Postgres. Both unavailable
// → CALL_GATE_FAIL_MODE, as when the whole decision outlasts CALL_GATE_DECISION_DEADLINE_MS.
// Every decision is counted (gate 'call', outcome, path).
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { VAPI_MAX_DURATION_SECONDS, VAPI_MIN_DURATION_SECONDS } from '../pricing';
import type { CallStore, HoldStep } from './call-store';
import { holdLifetimeSeconds } from './hold-policy';
import { createHoldRecorder } from './hold-recorder';
import type { NumberLookup, NumberResolver } from './number-resolver';
import type { HoldTerms, RedisDecision, RedisHolds } from './redis-holds';
import { StoreTimeoutError, withTimeout } from './timeout';

export type GatePath = 'cache' | 'database_fallback' | 'fail_mode';
export type RefusalReason = 'insufficient_funds' | 'unknown_number' | 'no_assistant' | 'unavailable' | 'invalid_request';

export type GateDecision =
  | {
      kind: 'allowed';
      callId: string;
      orgId: string;
      assistantId: string;
      maxDurationSeconds: number;
      holdAmount: number;
      path: GatePath;
      /** A new hold placed in Redis only: record it in Postgres after answering. */
      recordHold: boolean;
      /** When that hold expires (ms since the epoch), as Redis stored it; null when not recorded. */
      holdExpiresAtMs: number | null;
    }
  | { kind: 'refused'; reason: RefusalReason; message: string; path: GatePath };

/** Sentences Vapi speaks to the caller (never empty: Vapi would say "Unknown Error"). */
export const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  insufficient_funds: 'Sorry, this line cannot take calls right now because the account is out of credit. Please try again later.',
  unknown_number: 'Sorry, the number you have called is not in service. Goodbye.',
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
}

type Admission =
  | { kind: 'allowed'; holdAmount: number; maxDurationSeconds: number; placed: boolean; expiresAtMs: number | null }
  | { kind: 'refused' };

function admission(step: HoldStep | RedisDecision): Admission {
  switch (step.outcome) {
    case 'existing':
      return { kind: 'allowed', holdAmount: step.hold_amount, maxDurationSeconds: step.max_duration_seconds, placed: false, expiresAtMs: null };
    case 'held':
      return { kind: 'allowed', holdAmount: step.hold_amount, maxDurationSeconds: step.max_duration_seconds, placed: true, expiresAtMs: 'expires_at_ms' in step ? step.expires_at_ms : null };
    case 'available':
    case 'not_found':
      return { kind: 'refused' };
    case 'miss':
      throw new Error('invariant violated: a cache miss reached the admission');
  }
}

export function createCallGate(d: CallGateDeps) {
  const { pricing, callGate } = d.config;
  // What both atomic steps plan with: the prices come from Config.pricing and the bounds from
  // pricing.ts, so the Lua and SQL plans compute planHold() (proven in test/calls), not their own.
  const terms: HoldTerms = {
    ratePerMinute: pricing.callRatePerMinute,
    minBalance: pricing.callMinBalance,
    safetyMarginSeconds: callGate.safetyMarginSeconds,
    holdGraceSeconds: callGate.holdGraceSeconds,
  };

  const recorder = createHoldRecorder({ store: d.store, metrics: d.metrics, log: d.log, databaseTimeoutMs: callGate.databaseTimeoutMs });

  const redis = <T>(work: Promise<T>): Promise<T> =>
    withTimeout(work, callGate.redisTimeoutMs, 'redis').catch((err: unknown) => {
      throw new RedisUnavailable(err instanceof StoreTimeoutError ? 'redis_timeout' : 'redis_error', err);
    });
  const postgres = <T>(work: Promise<T>): Promise<T> => withTimeout(work, callGate.databaseTimeoutMs, 'postgres');

  /** One Redis round trip (call_gate_decide); on a cache miss, a read-through fill and one more. */
  async function admitOnRedis(orgId: string, callId: string): Promise<Admission> {
    const s = await redis(d.hot.decide(orgId, callId, terms));
    if (s.outcome !== 'miss') return admission(s);
    // Cache miss: read through from Postgres (wallet version-guarded, holds merged), then decide.
    const snap = await postgres(d.store.gateSnapshot(orgId));
    if (snap.outcome === 'not_found') return { kind: 'refused' };
    await redis(d.hot.fill(orgId, snap));
    const again = await redis(d.hot.decide(orgId, callId, terms));
    return again.outcome === 'miss' ? { kind: 'refused' } : admission(again);
  }

  /** One Postgres round trip (call_gate_admit under the wallet row lock). */
  async function admitOnPostgres(orgId: string, callId: string): Promise<Admission> {
    return admission(
      await postgres(
        d.store.admit({ orgId, callId, ...terms, minDurationSeconds: VAPI_MIN_DURATION_SECONDS, maxDurationSeconds: VAPI_MAX_DURATION_SECONDS }),
      ),
    );
  }

  function count(decision: GateDecision): GateDecision {
    const outcome = decision.kind === 'allowed' ? 'allowed' : `refused_${decision.reason}`;
    d.metrics.gateDecisions.inc({ gate: 'call', outcome, path: decision.path });
    return decision;
  }

  function failMode(callId: string, orgId: string | undefined, assistantId: string | undefined, err: unknown, reason: 'stores_unavailable' | 'deadline' = 'stores_unavailable'): GateDecision {
    d.metrics.fallbacks.inc({ gate: 'call', to: 'fail_mode', reason });
    d.log.error({ callId, orgId, failMode: callGate.failMode, err: (err as Error)?.message }, 'call gate: neither Redis nor Postgres answered');
    if (callGate.failMode === 'open' && orgId !== undefined && assistantId !== undefined) {
      return { kind: 'allowed', callId, orgId, assistantId, maxDurationSeconds: callGate.failOpenMaxDurationSeconds, holdAmount: 0, path: 'fail_mode', recordHold: false, holdExpiresAtMs: null };
    }
    return { kind: 'refused', reason: 'unavailable', message: REFUSAL_MESSAGES.unavailable, path: 'fail_mode' };
  }

  const refuse = (reason: RefusalReason, path: GatePath): GateDecision => ({ kind: 'refused', reason, message: REFUSAL_MESSAGES[reason], path });

  async function decideWithin(callId: string | undefined, lookup: NumberLookup): Promise<GateDecision> {
    if (callId === undefined || (lookup.vapiPhoneNumberId === null && lookup.e164 === null)) return refuse('invalid_request', 'cache');
    const resolution = await d.numbers.resolve(lookup);
    if (resolution.kind === 'unavailable') return failMode(callId, undefined, undefined, resolution.databaseError);
    const redisFailed = resolution.redisFailed;
    const numberPath: GatePath = redisFailed ? 'database_fallback' : 'cache';
    if (resolution.kind === 'not_found') return refuse('unknown_number', numberPath);
    const { orgId, assistantId } = resolution.number;
    if (assistantId === null) return refuse('no_assistant', numberPath);

    const allowed = (a: Extract<Admission, { kind: 'allowed' }>, path: GatePath): GateDecision => ({
      kind: 'allowed',
      callId,
      orgId,
      assistantId,
      maxDurationSeconds: a.maxDurationSeconds,
      holdAmount: a.holdAmount,
      path,
      recordHold: path === 'cache' && a.placed,
      holdExpiresAtMs: a.expiresAtMs,
    });

    if (!redisFailed) {
      try {
        const a = await admitOnRedis(orgId, callId);
        return a.kind === 'allowed' ? allowed(a, 'cache') : refuse('insufficient_funds', 'cache');
      } catch (err) {
        // Postgres failing during a cache fill: Redis is up but cannot decide alone.
        if (!(err instanceof RedisUnavailable)) return failMode(callId, orgId, assistantId, err);
        d.metrics.fallbacks.inc({ gate: 'call', to: 'database', reason: err.reason });
        d.log.warn({ callId, orgId, err: err.message }, 'call gate: deciding from Postgres');
      }
    }
    try {
      const a = await admitOnPostgres(orgId, callId);
      return a.kind === 'allowed' ? allowed(a, 'database_fallback') : refuse('insufficient_funds', 'database_fallback');
    } catch (err) {
      return failMode(callId, orgId, assistantId, err);
    }
  }

  return {
    /** The decision, counted; past CALL_GATE_DECISION_DEADLINE_MS the fail mode answers (no organisation known then). */
    async decide(callId: string | undefined, lookup: NumberLookup): Promise<GateDecision> {
      let decision: GateDecision;
      try {
        decision = await withTimeout(decideWithin(callId, lookup), callGate.decisionDeadlineMs, 'postgres');
      } catch (err) {
        decision = failMode(callId ?? 'unknown', undefined, undefined, err, 'deadline');
      }
      return count(decision);
    },

    /** After answering: make a Redis-only hold durable (batched), so the fallback and the sweeper see it. */
    async recordHold(decision: Extract<GateDecision, { kind: 'allowed' }>): Promise<void> {
      if (!decision.recordHold) return;
      const expiresAtMs = decision.holdExpiresAtMs ?? Date.now() + holdLifetimeSeconds(decision.maxDurationSeconds, callGate.holdGraceSeconds) * 1000;
      await recorder.add({
        call_id: decision.callId,
        org_id: decision.orgId,
        amount: decision.holdAmount,
        max_duration_seconds: decision.maxDurationSeconds,
        expires_at_ms: expiresAtMs,
      });
    },

    /** Shutdown: writes the holds still waiting for their batch; call before the pool closes. */
    close: () => recorder.close(),
  };
}

export type CallGate = ReturnType<typeof createCallGate>;
