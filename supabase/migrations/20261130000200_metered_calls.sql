-- Metered calls (issue 10, docs/call-gate.md): what a call's hold needs to be renewed slice by
-- slice, shrunk when the call ends, bounded when it is billed, and ended through Vapi's live call
-- control. Columns only; the functions that use them follow in later migrations.
alter table calls
  -- metered: the hold is one slice, renewed while the call lasts; full: the whole maxDuration.
  add column hold_policy    text not null default 'full' check (hold_policy in ('metered', 'full')),
  -- When the gate admitted the call (the Redis path records holds after answering: created_at is
  -- when the row was written, admitted_at when the call began to cost).
  add column admitted_at    timestamptz not null default now(),
  -- The most the hold may grow to: the cost of the call's max_duration_seconds.
  add column hold_cap       bigint check (hold_cap >= 0),
  -- Seconds of call, counted from admitted_at, that the hold pays for; and slices granted so far.
  add column held_seconds   integer check (held_seconds between 0 and 86400),
  add column slices         integer not null default 1 check (slices between 1 and 100000),
  -- When the call's status-update "ended" arrived (the hold then shrinks to the time used).
  add column ended_at       timestamptz,
  -- Vapi's monitor.controlUrl of the call: a secret (whoever holds it controls the call).
  add column control_url    text check (length(control_url) between 1 and 2000),
  -- The sweeper's backoff: a call it could not finish is not looked at again before this time.
  add column next_sweep_at  timestamptz;
