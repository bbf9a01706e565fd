// A circuit breaker in front of the call gate's Redis steps (issue 15). Without it a dead or
// stalled Redis is paid for on every decision: a failed command (with its error, metric and log)
// when Redis is down, or a whole CALL_GATE_REDIS_TIMEOUT_MS when it hangs, before Postgres decides.
//
//   closed     every decision tries Redis; CALL_GATE_BREAKER_FAILURES (5) consecutive failures or
//              timeouts open the breaker (a success resets the count)
//   open       decisions go straight to Postgres, without touching Redis, for
//              CALL_GATE_BREAKER_COOL_DOWN_MS (1000)
//   half-open  after the cool-down ONE decision is let through to Redis as a probe (the others
//              keep going to Postgres): its success closes the breaker, its failure opens it for
//              another cool-down. A probe that never reports (its caller gave up) is replaced
//              after one more cool-down, so the breaker cannot stay half-open for ever.
//
// The breaker only chooses the store; it never decides a call. Every guarantee of the Postgres
// path (one atomic call_gate_admit under the wallet row lock) holds while it is open. What it
// costs: for up to one cool-down after Redis comes back, decisions still go to Postgres (correct,
// only slower), and holds placed then reach Redis through the meter sweep or the next cache fill,
// as any fallback hold does (docs/call-gate.md, "Redis and Postgres paths").
// Counted: billing_gates_redis_breaker_transitions_total{to}, billing_gates_redis_breaker_open,
// and the decisions it sent to Postgres as fallbacks_total{reason="circuit_open"}.
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

/** Consecutive Redis failures or timeouts that open the breaker (CALL_GATE_BREAKER_FAILURES's default). */
export const REDIS_BREAKER_FAILURES = 5;
/** How long an open breaker sends every decision to Postgres before it lets one probe through (ms; CALL_GATE_BREAKER_COOL_DOWN_MS's default). */
export const REDIS_BREAKER_COOL_DOWN_MS = 1000;

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface RedisBreakerOptions {
  metrics: Metrics;
  log: Logger;
  failures?: number;
  coolDownMs?: number;
  /** The clock (ms), injectable for tests. */
  nowMs?: () => number;
}

export interface RedisBreaker {
  /** May this step use Redis? false = go to Postgres now. In half-open, true for the one probe only. */
  allow(): boolean;
  /** Redis answered (any answer, even a cache miss). */
  success(): void;
  /** Redis erred or timed out. */
  failure(): void;
  state(): BreakerState;
}

export function createRedisBreaker(o: RedisBreakerOptions): RedisBreaker {
  const threshold = o.failures ?? REDIS_BREAKER_FAILURES;
  const coolDownMs = o.coolDownMs ?? REDIS_BREAKER_COOL_DOWN_MS;
  const now = o.nowMs ?? Date.now;
  // Bound once: these run on every decision (prom-client hashes the label object per call otherwise).
  const toOpen = o.metrics.redisBreakerTransitions.labels('open');
  const toHalfOpen = o.metrics.redisBreakerTransitions.labels('half_open');
  const toClosed = o.metrics.redisBreakerTransitions.labels('closed');
  let state: BreakerState = 'closed';
  let consecutive = 0;
  /** When the breaker last opened, or when the current probe was let through. */
  let sinceMs = 0;
  let openedAtMs = 0;
  let decisionsSkipped = 0;

  function open(): void {
    if (state !== 'half_open') {
      openedAtMs = now();
      decisionsSkipped = 0;
      // One line per outage, not one per decision (the old per-decision warn flooded the log).
      o.log.warn({ consecutiveFailures: consecutive, coolDownMs }, 'call gate: Redis circuit breaker open; deciding from Postgres');
    }
    state = 'open';
    sinceMs = now();
    toOpen.inc();
    o.metrics.redisBreakerOpen.set(1);
  }

  return {
    allow() {
      if (state === 'closed') return true;
      if (now() - sinceMs < coolDownMs) {
        decisionsSkipped++;
        return false;
      }
      // Cool-down over (or a probe lost): this caller is the probe.
      state = 'half_open';
      sinceMs = now();
      toHalfOpen.inc();
      return true;
    },
    success() {
      consecutive = 0;
      if (state === 'closed') return;
      state = 'closed';
      toClosed.inc();
      o.metrics.redisBreakerOpen.set(0);
      o.log.warn({ openForMs: now() - openedAtMs, decisionsSentToPostgres: decisionsSkipped }, 'call gate: Redis answers again; circuit breaker closed');
    },
    failure() {
      consecutive++;
      if (state === 'half_open' || (state === 'closed' && consecutive >= threshold)) open();
    },
    state: () => state,
  };
}
