// Prometheus metrics for every gate decision, money movement, refund, retry, fallback and repair.
// One registry per process (per app in tests), so parallel test apps never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'billing_gates_' });
  const registers = [registry];
  const m = {
    registry,
    httpDuration: new Histogram({
      name: 'billing_gates_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    /** gate: provision | call | outbound; outcome: allowed | refused_* ; path: database | cache | database_fallback | fail_mode */
    gateDecisions: new Counter({
      name: 'billing_gates_gate_decisions_total',
      help: 'Gate decisions by gate, outcome and the path that decided',
      labelNames: ['gate', 'outcome', 'path'] as const,
      registers,
    }),
    /** kind: topup | phone_number | phone_number_refund | call; outcome: posted | replayed | refused */
    walletMovements: new Counter({
      name: 'billing_gates_wallet_movements_total',
      help: 'Wallet movements by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    walletMovementAmount: new Counter({
      name: 'billing_gates_wallet_movement_amount_total',
      help: 'Absolute amount moved, in minor units, by kind and currency',
      labelNames: ['kind', 'currency'] as const,
      registers,
    }),
    walletFailures: new Counter({
      name: 'billing_gates_wallet_failures_total',
      help: 'Money operations that failed with an error (not a refusal) and must be retried',
      labelNames: ['operation'] as const,
      registers,
    }),
    callsBeyondDebtLimit: new Counter({
      name: 'billing_gates_calls_beyond_debt_limit_total',
      help: 'Call charges recorded although they took the balance beyond the debt limit',
      registers,
    }),
    provisioningOutcomes: new Counter({
      name: 'billing_gates_provisioning_outcomes_total',
      help: 'Provisioning requests reaching a state: completed, failed, refunded',
      labelNames: ['outcome'] as const,
      registers,
    }),
    provisioningAttempts: new Counter({
      name: 'billing_gates_provisioning_attempts_total',
      help: 'Provisioning attempts by result: succeeded, retrying, permanent, exhausted',
      labelNames: ['result'] as const,
      registers,
    }),
    refunds: new Counter({
      name: 'billing_gates_refunds_total',
      help: 'Refunds by outcome: refunded, replayed, failed',
      labelNames: ['outcome'] as const,
      registers,
    }),
    jobRetries: new Counter({
      name: 'billing_gates_job_retries_total',
      help: 'Job attempts that failed and will be retried, by queue',
      labelNames: ['queue'] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'billing_gates_queue_jobs',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
    queueOldestWaitingSeconds: new Gauge({
      name: 'billing_gates_queue_oldest_waiting_seconds',
      help: 'Age of the oldest waiting job per queue',
      labelNames: ['queue'] as const,
      registers,
    }),
    sweeperRepairs: new Counter({
      name: 'billing_gates_sweeper_repairs_total',
      help: 'Repairs made by the sweepers, by sweeper and kind of repair',
      labelNames: ['sweeper', 'repair'] as const,
      registers,
    }),
    reconcilerReleases: new Counter({
      name: 'billing_gates_reconciler_releases_total',
      help: 'Numbers no completed request owns, found by the reconciler: released, or failed to release (still live); by provider twilio|vapi',
      labelNames: ['provider', 'outcome'] as const,
      registers,
    }),
    numberReleaseFailures: new Counter({
      name: 'billing_gates_number_release_failures_total',
      help: 'Releases of a number that failed in a provisioning attempt (twin, stopped); the reconciler releases it later',
      labelNames: ['path'] as const,
      registers,
    }),
    stuckRequests: new Gauge({
      name: 'billing_gates_stuck_requests',
      help: 'Provisioning requests in a non-final state for longer than STUCK_REQUEST_AFTER_SECONDS',
      registers,
    }),
    /** result: hit | miss | error | write | write_error | stale */
    balanceCache: new Counter({
      name: 'billing_gates_balance_cache_total',
      help: 'Balance cache reads and writes by result',
      labelNames: ['result'] as const,
      registers,
    }),
    /** result: retried (the write-through's immediate retry stored it) | rewritten | invalidated (background repair) | gave_up */
    balanceCacheRepairs: new Counter({
      name: 'billing_gates_balance_cache_repairs_total',
      help: 'Failed balance cache write-throughs repaired (retried, rewritten, or invalidated so the next read fills from Postgres), or given up on',
      labelNames: ['result'] as const,
      registers,
    }),
    fallbacks: new Counter({
      name: 'billing_gates_fallbacks_total',
      help: 'Times a gate fell back from Redis to Postgres, or to its fail mode, by reason',
      labelNames: ['gate', 'to', 'reason'] as const,
      registers,
    }),
    callsSettled: new Counter({
      name: 'billing_gates_calls_settled_total',
      help: 'Calls charged, by source: report or sweeper',
      labelNames: ['source'] as const,
      registers,
    }),
    /** reason: missing | negative | beyond_bound — billed by our own record of the call instead */
    callReportsImplausible: new Counter({
      name: 'billing_gates_call_reports_implausible_total',
      help: 'End-of-call reports whose figures were implausible and were billed by the call admission record instead, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    callReportsMissing: new Counter({
      name: 'billing_gates_call_reports_missing_total',
      help: 'Calls whose end-of-call report never came and were settled from the Vapi API',
      registers,
    }),
    /** Outbound calls after their admission: placed, refused_by_vapi, answer_lost, found_by_sweeper, not_found_by_sweeper, already, failed. */
    outboundPlacements: new Counter({
      name: 'billing_gates_outbound_placements_total',
      help: 'Outbound calls after the gate admitted them: what Vapi POST /call (or the sweeper, for a lost answer) made of them',
      labelNames: ['outcome'] as const,
      registers,
    }),
    callRenewals: new Counter({
      name: 'billing_gates_call_renewals_total',
      help: 'Renewals of metered holds, by outcome (renewed, already, capped, exhausted, ended, released, missing) and store (cache, database_fallback)',
      labelNames: ['outcome', 'path'] as const,
      registers,
    }),
    admitBatchSize: new Histogram({
      name: 'billing_gates_call_gate_admit_batch_size',
      help: 'Postgres-path admissions (Redis down) sent together in one call_gate_admit_batch transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    callRenewalLateness: new Histogram({
      name: 'billing_gates_call_renewal_lateness_seconds',
      help: 'How late a renewal ran after it was due (its lead before the held seconds run out is the slack)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    meterPumped: new Counter({
      name: 'billing_gates_meter_pump_entries_total',
      help: "First renewals of Redis-path metered calls moved from the due set into call-meters jobs by the meter pump",
      registers,
    }),
    meterDueEntries: new Gauge({
      name: 'billing_gates_meter_due_entries',
      help: 'First renewals waiting in the due set (sampled on scrape)',
      registers,
    }),
    meterDueOverdueSeconds: new Gauge({
      name: 'billing_gates_meter_due_overdue_seconds',
      help: 'How long the most overdue unclaimed first renewal has been due (0 when none): the meter pump is not running or failing (sampled on scrape)',
      registers,
    }),
    meterDueTagsPruned: new Counter({
      name: 'billing_gates_meter_due_tags_pruned_total',
      help: 'Due keys dropped from the due index by the meter sweep: not indexed for 60 s and empty (the pump and the sampler stop visiting them)',
      registers,
    }),
    /** step: claim | enqueue | release | malformed */
    meterPumpFailures: new Counter({
      name: 'billing_gates_meter_pump_failures_total',
      help: 'Meter pump steps that failed, by step (claim, enqueue, release: retried; malformed: an unreadable due entry dropped)',
      labelNames: ['step'] as const,
      registers,
    }),
    callControl: new Counter({
      name: 'billing_gates_call_control_total',
      help: "Messages to Vapi's live call control for calls whose money ran out, by action (say, end-call) and outcome (sent, failed, no_url, host_refused)",
      labelNames: ['action', 'outcome'] as const,
      registers,
    }),
    callsUnendable: new Counter({
      name: 'billing_gates_calls_unendable_total',
      help: 'Calls to be ended (out of money, or a spend control) that the service gave up ending while they were still live, by reason: no_url (no usable control URL), control_failed (every end-call try failed), error (our own stores failed on the last try). Each runs to its maxDurationSeconds.',
      labelNames: ['reason'] as const,
      registers,
    }),
    callHoldEvents: new Counter({
      name: 'billing_gates_call_hold_events_total',
      help: 'Hold lifecycle events: ended (sized to the time used), compensated (a late store answer taken back), mirrored (copied into Redis), meter_recreated, record_rejected',
      labelNames: ['event', 'store'] as const,
      registers,
    }),
    callHoldRepairs: new Counter({
      name: 'billing_gates_call_hold_repairs_total',
      help: "Repairs of a call's Redis hold against what Postgres says (issue 22), by repair — settled_released (a settled call's entry still counting, released), terms_adopted (an entry whose terms differed from the granted ones took them), ended_at_cap (a hold capped below the maxDurationSeconds Vapi was given: the call is ended at the cap) — and by (billing_retry, renewal, sweeper, ended, gate, fill, meter)",
      labelNames: ['repair', 'by'] as const,
      registers,
    }),
    spendControls: new Counter({
      name: 'billing_gates_spend_controls_total',
      help: 'Spend controls that acted (CONTRACT §8), by control (wallet_frozen, maxConcurrentCalls, dailySpendLimit, maxCallSeconds, maxNumbersPerDay), surface (call, renewal, purchase, freeze) and outcome (refused, ended)',
      labelNames: ['control', 'surface', 'outcome'] as const,
      registers,
    }),
    walletFreezes: new Counter({
      name: 'billing_gates_wallet_freezes_total',
      help: 'Operator freezes and unfreezes of wallets, by action (freeze, unfreeze) and outcome (changed, unchanged)',
      labelNames: ['action', 'outcome'] as const,
      registers,
    }),
    /** outcome: created | replayed | stripe_error | paid | failed | expired */
    topUps: new Counter({
      name: 'billing_gates_topups_total',
      help: 'Top-ups by outcome: created (Checkout Session made), replayed, stripe_error, paid, failed, expired',
      labelNames: ['source', 'outcome'] as const,
      registers,
    }),
    /** type: the Stripe event type we handle, or "other"; outcome: what its SQL function said */
    stripeEvents: new Counter({
      name: 'billing_gates_stripe_events_total',
      help: 'Stripe webhook events by type and outcome (credited, already_credited, applied, pending, duplicate, unknown_organisation, mismatch, ignored, invalid_signature, invalid_event)',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    /** outcome: recovered (an event no webhook had brought, applied now) | failed (could not be applied; read again next run) */
    stripeCatchUp: new Counter({
      name: 'billing_gates_stripe_catch_up_events_total',
      help: "Stripe events the catch-up found that no webhook had brought: recovered (applied now, through the webhook's own path) or failed (not applied; read again next run)",
      labelNames: ['outcome'] as const,
      registers,
    }),
    /** outcome: submitted | failed | disabled | cooldown | in_flight | not_needed | off | frozen | stale | error */
    autoRecharges: new Counter({
      name: 'billing_gates_auto_recharges_total',
      help: 'Auto-recharge steps by outcome: submitted, failed (card-level), disabled (after three failures), cooldown, in_flight, not_needed, off, frozen, stale (a job whose outbox attempt was answered or claimed again), error (Stripe did not answer; retried by the outbox)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    /** task: auto_recharge | deliver_event; reason: error | lease_expired | job_lost */
    moneyOutboxRetries: new Counter({
      name: 'billing_gates_money_outbox_retries_total',
      help: 'Money outbox rows tried again, by task and reason: error (the attempt failed without an answer, backed off in SQL), lease_expired (claimed again after its job never reported: a lost job or a dead worker), job_lost (an event delivery whose job Redis no longer had, queued again)',
      labelNames: ['task', 'reason'] as const,
      registers,
    }),
    /** type: balance.low | balance.recovered | auto_recharge.* | wallet.*; outcome: delivered | retrying | no_webhook | refused_address (no connection made: the webhook's address is internal) */
    walletEventDeliveries: new Counter({
      name: 'billing_gates_wallet_event_deliveries_total',
      help: "Wallet events (alerts and notices) POSTed to customers' webhooks, by type and outcome",
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    /** to: open | half_open | closed (shared/calls/redis-breaker.ts) */
    redisBreakerTransitions: new Counter({
      name: 'billing_gates_redis_breaker_transitions_total',
      help: "The call gate's Redis circuit breaker changing state: open (decisions go straight to Postgres), half_open (one probe let through), closed",
      labelNames: ['to'] as const,
      registers,
    }),
    redisBreakerOpen: new Gauge({
      name: 'billing_gates_redis_breaker_open',
      help: "1 while the call gate's Redis circuit breaker is open or half-open (decisions go to Postgres), 0 when closed",
      registers,
    }),
    /** Monthly rental (issue 24). outcome: charged (months paid) | failed (the wallet could not pay) | currency_not_priced */
    numberRents: new Counter({
      name: 'billing_gates_number_rents_total',
      help: 'Monthly rents of phone numbers: charged (one per month paid), failed (the wallet could not pay: past due), currency_not_priced (no monthly price for the wallet currency: not charged)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    /** status: past_due | reactivated | released */
    numberStatusChanges: new Counter({
      name: 'billing_gates_number_status_changes_total',
      help: 'Rented numbers changing state: past_due (rent unpaid), reactivated (paid within the grace), released (at Vapi and Twilio)',
      labelNames: ['status'] as const,
      registers,
    }),
    /** reason: unpaid | customer; outcome: released | failed (still live at Vapi or Twilio: retried by the rent sweep) */
    numberReleases: new Counter({
      name: 'billing_gates_number_releases_total',
      help: 'Releases of rented numbers at Vapi and Twilio, by reason (unpaid, customer) and outcome (released, failed: still live and billed by Twilio, retried)',
      labelNames: ['reason', 'outcome'] as const,
      registers,
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
