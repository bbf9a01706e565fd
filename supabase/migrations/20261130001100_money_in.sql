-- Money in (issue 11, CONTRACT §7): Stripe top-ups, auto-recharge, refunds and disputes,
-- low-balance alerts and frozen wallets.
--
-- The rules this file keeps:
--  * every Stripe event id is recorded (stripe_events) in the transaction of its effect, so a
--    replay changes nothing; every money effect is keyed by the Stripe object it comes from
--    (ledger idempotency keys topup:pi:<payment intent>, topup_refund:<charge>:<cumulative>,
--    dispute:<dispute>, and the unique reverses_entry_id of a dispute_reversal), so two events
--    describing one payment credit it once (failure modes 31, 32);
--  * a refund or dispute that arrives before its payment was credited is kept and applied when
--    the credit lands (stripe_reconcile_payment), never dropped and never credited on its own;
--  * the auto-recharge and alert thresholds are evaluated inside the money movement, under the
--    wallet row lock, against the live available amount (balance - holds): "recharge wanted" and
--    the balance.* events go to an outbox in the same transaction (failure modes 33, 34).

-- ---------------------------------------------------------------------------------------------
-- Ledger kinds of money in: a refund and a dispute take money back (may go below zero: the money
-- already left), a reinstated dispute gives back exactly the one dispute debit it reverses.
-- ---------------------------------------------------------------------------------------------
alter table ledger_entries drop constraint ledger_entries_kind_sign;
alter table ledger_entries add constraint ledger_entries_kind_sign check (
     (kind = 'topup' and amount between 1 and 100000000 and reverses_entry_id is null)
  or (kind = 'phone_number' and amount < 0 and reverses_entry_id is null)
  or (kind = 'phone_number_refund' and amount > 0 and reverses_entry_id is not null)
  or (kind = 'call' and amount <= 0 and reverses_entry_id is null)
  or (kind = 'topup_refund' and amount between -100000000 and -1 and reverses_entry_id is null)
  or (kind = 'dispute' and amount between -100000000 and -1 and reverses_entry_id is null)
  or (kind = 'dispute_reversal' and amount between 1 and 100000000 and reverses_entry_id is not null));

alter table wallets
  add column frozen boolean not null default false,
  add column frozen_reason text check (frozen_reason is null or length(frozen_reason) between 1 and 500);

alter table idempotency_keys drop constraint idempotency_keys_scope_check;
alter table idempotency_keys add constraint idempotency_keys_scope_check
  check (scope in ('credit', 'provision', 'topup'));

-- One row per top-up: a Checkout payment the customer makes, or an off-session auto-recharge.
create table top_ups (
  id                  uuid primary key default gen_random_uuid(),
  org_id              uuid not null references wallets (org_id),
  source              text not null check (source in ('checkout', 'auto_recharge')),
  amount              bigint not null check (amount between 1 and 100000000),
  currency            text not null check (currency ~ '^[a-z]{3}$'),
  status              text not null default 'pending' check (status in ('pending', 'paid', 'failed', 'expired')),
  checkout_session_id text unique check (length(checkout_session_id) between 1 and 255),
  checkout_url        text check (length(checkout_url) between 1 and 2000),
  payment_intent_id   text unique check (length(payment_intent_id) between 1 and 255),
  -- The one topup entry of this payment (unique: one credit per top-up).
  credit_entry_id     bigint unique references ledger_entries (id),
  failure_code        text check (length(failure_code) <= 100),
  failure_message     text check (length(failure_message) <= 500),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint top_ups_paid_is_credited check ((status = 'paid') = (credit_entry_id is not null))
);
create index top_ups_org_newest on top_ups (org_id, created_at desc);

-- Every Stripe event processed, recorded in the transaction of its effect.
create table stripe_events (
  event_id    text primary key check (length(event_id) between 1 and 255),
  type        text not null check (length(type) between 1 and 100),
  outcome     text not null check (length(outcome) between 1 and 100),
  org_id      uuid,
  received_at timestamptz not null default now()
);

-- What Stripe said about each charge (cumulative refunds) and what the wallet took back so far.
create table stripe_charges (
  charge_id         text primary key check (length(charge_id) between 1 and 255),
  payment_intent_id text not null check (length(payment_intent_id) between 1 and 255),
  currency          text not null check (currency ~ '^[a-z]{3}$'),
  refunded_seen     bigint not null default 0 check (refunded_seen between 0 and 100000000),
  refunded_taken    bigint not null default 0 check (refunded_taken between 0 and 100000000),
  constraint stripe_charges_taken_le_seen check (refunded_taken <= refunded_seen)
);
create index stripe_charges_by_payment on stripe_charges (payment_intent_id);

-- Each dispute: what Stripe said (flags only ever turn on) and the entries the wallet got.
create table stripe_disputes (
  dispute_id          text primary key check (length(dispute_id) between 1 and 255),
  payment_intent_id   text not null check (length(payment_intent_id) between 1 and 255),
  charge_id           text check (length(charge_id) between 1 and 255),
  amount              bigint not null check (amount between 1 and 100000000),
  currency            text not null check (currency ~ '^[a-z]{3}$'),
  status              text not null check (length(status) between 1 and 50),
  closed              boolean not null default false,
  withdrawn_seen      boolean not null default false,
  reinstated_seen     boolean not null default false,
  froze_wallet        boolean not null default false,
  withdrawn_entry_id  bigint unique references ledger_entries (id),
  reinstated_entry_id bigint unique references ledger_entries (id)
);
create index stripe_disputes_by_payment on stripe_disputes (payment_intent_id);

-- Per-wallet money-in settings: the Stripe customer and saved card, auto-recharge, alerts.
create table wallet_money_settings (
  org_id                   uuid primary key references wallets (org_id),
  stripe_customer_id       text check (length(stripe_customer_id) between 1 and 255),
  payment_method_id        text check (length(payment_method_id) between 1 and 255),
  payment_method_brand     text check (length(payment_method_brand) between 1 and 50),
  payment_method_last4     text check (payment_method_last4 ~ '^[0-9]{4}$'),
  alert_thresholds         bigint[] not null default '{}' check (cardinality(alert_thresholds) <= 5),
  -- Thresholds at or below which `available` now is (a balance.low was sent; re-armed above).
  alerts_low               bigint[] not null default '{}',
  webhook_url              text check (length(webhook_url) between 1 and 2000),
  signing_secret           text check (length(signing_secret) between 32 and 200),
  recharge_enabled         boolean not null default false,
  recharge_threshold       bigint not null default 0 check (recharge_threshold between 0 and 100000000),
  recharge_amount          bigint not null default 0 check (recharge_amount between 0 and 100000000),
  recharge_failures        integer not null default 0 check (recharge_failures >= 0),
  -- An outbox row asking for a recharge is pending (so a burst of debits asks once).
  recharge_wanted          boolean not null default false,
  -- The one recharge in flight (failure mode 33), and when the last one was started (cooldown).
  recharge_in_flight       uuid references top_ups (id),
  recharge_last_attempt_at timestamptz,
  updated_at               timestamptz not null default now(),
  constraint wallet_money_settings_recharge check (
    not recharge_enabled or (recharge_amount >= 1 and payment_method_id is not null))
);

-- Customer-visible wallet events (GET /api/wallet/events), newest first by id.
create table wallet_events (
  id           bigint generated always as identity primary key,
  org_id       uuid not null references wallets (org_id),
  type         text not null check (type in ('balance.low', 'balance.recovered', 'auto_recharge.failed',
                                             'auto_recharge.disabled', 'wallet.frozen', 'wallet.unfrozen')),
  data         jsonb not null,
  created_at   timestamptz not null default now(),
  delivered_at timestamptz
);
create index wallet_events_org_newest on wallet_events (org_id, id desc);

-- The transactional outbox: work the movement asked for, picked up by the outbox relay.
create table money_outbox (
  id            bigint generated always as identity primary key,
  org_id        uuid not null references wallets (org_id),
  task          text not null check (task in ('deliver_event', 'auto_recharge')),
  event_id      bigint references wallet_events (id),
  created_at    timestamptz not null default now(),
  claimed_until timestamptz,
  done_at       timestamptz,
  constraint money_outbox_event check ((task = 'deliver_event') = (event_id is not null))
);
create index money_outbox_pending on money_outbox (id) where done_at is null;

alter table top_ups enable row level security;
alter table stripe_events enable row level security;
alter table stripe_charges enable row level security;
alter table stripe_disputes enable row level security;
alter table wallet_money_settings enable row level security;
alter table wallet_events enable row level security;
alter table money_outbox enable row level security;

-- ---------------------------------------------------------------------------------------------
-- ledger_result: now also says whether the wallet is frozen, so every write-through carries it
-- into the Redis copy the call gate reads.
-- ---------------------------------------------------------------------------------------------
create or replace function ledger_result(p_outcome text, e ledger_entries, w wallets) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'outcome', p_outcome, 'entry_id', e.id, 'kind', e.kind, 'amount', e.amount,
    'balance_before', e.balance_before, 'balance_after', e.balance_after,
    'created_at', e.created_at,
    'balance', w.balance, 'version', w.version, 'currency', w.currency,
    'debt_limit', w.debt_limit, 'frozen', w.frozen)
$$;

-- The wallet as the cache needs it (internal).
create function wallet_cache_json(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('balance', w.balance, 'version', w.version, 'currency', w.currency,
                            'frozen', w.frozen)
    from wallets w where w.org_id = p_org_id
$$;

-- ---------------------------------------------------------------------------------------------
-- wallet_event_emit (internal): stores one customer event and, when the wallet has a webhook,
-- an outbox row to deliver it. data gains orgId, available and currency (CONTRACT §7).
-- ---------------------------------------------------------------------------------------------
create function wallet_event_emit(p_org_id uuid, p_type text, p_data jsonb) returns bigint
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  w wallets%rowtype;
  v_id bigint;
  v_url text;
begin
  select * into w from wallets where org_id = p_org_id;
  insert into wallet_events (org_id, type, data)
  values (p_org_id, p_type, p_data || jsonb_build_object(
            'orgId', p_org_id, 'currency', w.currency,
            'available', w.balance - call_holds_sum(p_org_id, now())))
  returning id into v_id;
  select webhook_url into v_url from wallet_money_settings where org_id = p_org_id;
  if v_url is not null then
    insert into money_outbox (org_id, task, event_id) values (p_org_id, 'deliver_event', v_id);
  end if;
  return v_id;
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_money_watch (internal): the threshold rules, evaluated where the balance changes.
-- Call only while holding the wallet row lock (ledger_post, call_gate_admit do).
-- Effects: one balance.low per threshold crossed downwards (available <= threshold) and one
--          balance.recovered when it rises above again; a "recharge wanted" outbox row when
--          auto-recharge is on, the wallet is not frozen, available < threshold, and no recharge
--          is wanted or in flight already. A wallet with no settings costs one index probe.
-- ---------------------------------------------------------------------------------------------
create function wallet_money_watch(p_org_id uuid) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  s wallet_money_settings%rowtype;
  w wallets%rowtype;
  v_available bigint;
  v_low bigint[];
  t bigint;
  v_wanted boolean;
begin
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if not found then
    return;
  end if;
  select * into w from wallets where org_id = p_org_id;
  v_available := w.balance - call_holds_sum(p_org_id, now());
  v_low := s.alerts_low;
  for t in select x from unnest(s.alert_thresholds) x order by x desc loop
    if v_available <= t and not (t = any (v_low)) then
      v_low := v_low || t;
      perform wallet_event_emit(p_org_id, 'balance.low', jsonb_build_object('threshold', t));
    end if;
  end loop;
  for t in select x from unnest(s.alert_thresholds) x order by x asc loop
    if v_available > t and t = any (v_low) then
      v_low := array_remove(v_low, t);
      perform wallet_event_emit(p_org_id, 'balance.recovered', jsonb_build_object('threshold', t));
    end if;
  end loop;
  v_wanted := s.recharge_wanted;
  if s.recharge_enabled and not w.frozen and v_available < s.recharge_threshold
     and not s.recharge_wanted and s.recharge_in_flight is null then
    insert into money_outbox (org_id, task) values (p_org_id, 'auto_recharge');
    v_wanted := true;
  end if;
  if v_low is distinct from s.alerts_low or v_wanted <> s.recharge_wanted then
    update wallet_money_settings set alerts_low = v_low, recharge_wanted = v_wanted, updated_at = now()
     where org_id = p_org_id;
  end if;
end $$;

-- ---------------------------------------------------------------------------------------------
-- ledger_post: as in 20261123000100_wallet_ledger.sql, plus the money watch after a posting, in
-- the same transaction and under the same wallet lock. Every movement of every kind comes here.
-- ---------------------------------------------------------------------------------------------
create or replace function ledger_post(
  p_org_id uuid, p_kind text, p_amount bigint, p_idempotency_key text, p_reference text,
  p_reverses_entry_id bigint, p_require_funds boolean
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  w wallets%rowtype;
  e ledger_entries%rowtype;
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;

  select * into e from ledger_entries
   where org_id = p_org_id and idempotency_key = p_idempotency_key;
  if found then
    if e.kind <> p_kind or e.amount <> p_amount
       or e.reverses_entry_id is distinct from p_reverses_entry_id then
      return jsonb_build_object('outcome', 'key_conflict', 'entry_id', e.id);
    end if;
    return ledger_result('replayed', e, w);
  end if;

  if p_require_funds and w.balance + p_amount < 0 then
    return jsonb_build_object(
      'outcome', 'insufficient_funds', 'currency', w.currency, 'balance', w.balance,
      'required', -p_amount, 'shortfall', -p_amount - w.balance, 'version', w.version);
  end if;

  update wallets
     set balance = balance + p_amount, version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;

  insert into ledger_entries
    (org_id, kind, amount, balance_before, balance_after, reference, idempotency_key,
     reverses_entry_id)
  values
    (p_org_id, p_kind, p_amount, w.balance - p_amount, w.balance, p_reference,
     p_idempotency_key, p_reverses_entry_id)
  returning * into e;

  perform wallet_money_watch(p_org_id);
  return ledger_result('posted', e, w);
end $$;

create or replace function wallet_get(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'org_id', w.org_id, 'currency', w.currency, 'balance', w.balance,
       'debt_limit', w.debt_limit, 'version', w.version, 'updated_at', w.updated_at,
       'frozen', w.frozen, 'frozen_reason', w.frozen_reason)
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- wallet_freeze / wallet_unfreeze: a frozen wallet admits no call, buys no number and runs no
-- auto-recharge (CONTRACT §8). Operators (later) and Stripe disputes call these.
-- Inputs:  org, reason (freeze), source ('stripe_dispute', 'operator', ...).
-- Output:  {outcome: frozen | unfrozen | already | not_found, wallet: {balance, version, currency,
--          frozen}, frozen_reason}
-- Effects: the flag, a new wallet version (so the cached copy is replaced) and one wallet.frozen
--          / wallet.unfrozen event, only when the state changes.
-- ---------------------------------------------------------------------------------------------
create function wallet_freeze(p_org_id uuid, p_reason text, p_source text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare w wallets%rowtype;
begin
  if p_reason is null or length(p_reason) not between 1 and 500 or p_source is null then
    raise exception 'wallet_freeze: reason of 1..500 characters and a source are required' using errcode = '22023';
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if w.frozen then
    return jsonb_build_object('outcome', 'already', 'frozen_reason', w.frozen_reason,
                              'wallet', wallet_cache_json(p_org_id));
  end if;
  update wallets set frozen = true, frozen_reason = p_reason, version = version + 1, updated_at = now()
   where org_id = p_org_id;
  perform wallet_event_emit(p_org_id, 'wallet.frozen', jsonb_build_object('reason', p_reason, 'source', p_source));
  return jsonb_build_object('outcome', 'frozen', 'frozen_reason', p_reason, 'wallet', wallet_cache_json(p_org_id));
end $$;

create function wallet_unfreeze(p_org_id uuid, p_source text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare w wallets%rowtype;
begin
  if p_source is null then
    raise exception 'wallet_unfreeze: a source is required' using errcode = '22023';
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if not w.frozen then
    return jsonb_build_object('outcome', 'already', 'wallet', wallet_cache_json(p_org_id));
  end if;
  update wallets set frozen = false, frozen_reason = null, version = version + 1, updated_at = now()
   where org_id = p_org_id;
  perform wallet_event_emit(p_org_id, 'wallet.unfrozen', jsonb_build_object('source', p_source));
  -- A recharge wanted while frozen may run now.
  perform wallet_money_watch(p_org_id);
  return jsonb_build_object('outcome', 'unfrozen', 'wallet', wallet_cache_json(p_org_id));
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_debit_for_purchase / provision_request_create: as before, refusing a frozen wallet
-- ({outcome: wallet_frozen}). The refusal is not recorded under the Idempotency-Key: the same
-- request may succeed once the wallet is unfrozen.
-- ---------------------------------------------------------------------------------------------
create or replace function wallet_debit_for_purchase(
  p_org_id uuid, p_amount bigint, p_idempotency_key text, p_reference text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  if p_amount is null or p_amount < 1 then
    raise exception 'wallet_debit_for_purchase: amount % must be positive', p_amount
      using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if (select frozen from wallets where org_id = p_org_id) then
    return jsonb_build_object('outcome', 'wallet_frozen');
  end if;
  r := ledger_post(p_org_id, 'phone_number', -p_amount, p_idempotency_key, p_reference,
                   null, true);
  if r->>'outcome' in ('posted', 'replayed') then
    r := r || jsonb_build_object('outcome', 'debited', 'replayed', r->>'outcome' = 'replayed');
  end if;
  return r;
end $$;

create or replace function provision_request_create(
  p_org_id uuid, p_price bigint, p_idempotency_key text, p_fingerprint text, p_area_code text,
  p_country text, p_assistant_id text, p_max_attempts integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  prior jsonb;
  d jsonb;
  r provisioning_requests%rowtype;
  v_id uuid := gen_random_uuid();
begin
  if p_price is null or p_price < 1 then
    raise exception 'provision_request_create: price % must be positive', p_price using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'provision', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  if (select frozen from wallets where org_id = p_org_id) then
    return jsonb_build_object('outcome', 'wallet_frozen');
  end if;
  d := ledger_post(p_org_id, 'phone_number', -p_price, 'provision:' || p_idempotency_key,
                   'phone number ' || v_id, null, true);
  if d->>'outcome' = 'insufficient_funds' then
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
                              d - 'version');
  end if;
  if d->>'outcome' <> 'posted' then
    raise exception 'provision_request_create: unexpected ledger outcome %', d using errcode = 'XX000';
  end if;
  insert into provisioning_requests
    (id, org_id, idempotency_key, area_code, country, assistant_id, max_attempts, charged,
     debit_entry_id, currency)
  values
    (v_id, p_org_id, p_idempotency_key, p_area_code, p_country, p_assistant_id, p_max_attempts,
     p_price, (d->>'entry_id')::bigint, d->>'currency')
  returning * into r;
  return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
    jsonb_build_object('outcome', 'queued', 'request', provisioning_json(r),
      'balance', (d->>'balance')::bigint, 'version', (d->>'version')::bigint,
      'currency', d->>'currency'));
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_admit: as in 20261130000300_metered_holds.sql, plus: a frozen wallet is refused
-- ({outcome: frozen}), and a hold placed runs the money watch (alerts, auto-recharge).
-- ---------------------------------------------------------------------------------------------
create or replace function call_gate_admit(
  p_org_id uuid, p_call_id text, p_rate_per_minute bigint, p_min_balance bigint,
  p_safety_margin_seconds integer, p_hold_grace_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  v_balance bigint;
  v_frozen boolean;
  v_available bigint;
  v_plan bigint[];
begin
  select balance, frozen into v_balance, v_frozen from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'existing', 'hold_amount', c.hold_amount,
      'max_duration_seconds', c.max_duration_seconds, 'hold_state', c.hold_state);
  end if;
  if v_frozen then
    return jsonb_build_object('outcome', 'frozen');
  end if;
  v_available := v_balance - call_holds_sum(p_org_id, now());
  v_plan := call_gate_plan_hold(v_available, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
    p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds);
  if v_plan is null then
    return jsonb_build_object('outcome', 'available', 'available', v_available);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                     hold_policy, hold_cap, held_seconds)
  values (p_call_id, p_org_id, v_plan[1], v_plan[2],
          now() + make_interval(secs => v_plan[2] + p_hold_grace_seconds), 'database_fallback',
          p_policy, v_plan[3], v_plan[4])
  returning * into c;
  perform wallet_money_watch(p_org_id);
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[1],
    'max_duration_seconds', v_plan[2], 'available', v_available - v_plan[1], 'hold', call_hold_json(c));
end $$;

create or replace function call_gate_snapshot(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'balance', w.balance, 'version', w.version, 'currency', w.currency,
       'frozen', w.frozen,
       'holds', coalesce((select jsonb_agg(call_hold_json(c))
                  from calls c
                 where c.org_id = w.org_id and c.hold_state = 'held' and c.hold_expires_at > now()),
                 '[]'::jsonb))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- Top-ups through Checkout.
-- topup_create: Inputs org, amount (1..100000000; the API checks TOPUP_MIN/MAX), Idempotency-Key,
--   fingerprint. Output {outcome: created, replayed, top_up} | not_found | idempotency_key_reused.
--   Effects: one pending top_up per key (the session is attached after Stripe answers).
-- topup_attach_session: records the Checkout Session of a top-up (first one wins).
-- topup_get: one top-up of one organisation, or not_found.
-- ---------------------------------------------------------------------------------------------
create function top_up_json(t top_ups) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object(
    'id', t.id, 'org_id', t.org_id, 'source', t.source, 'status', t.status, 'amount', t.amount,
    'currency', t.currency, 'checkout_session_id', t.checkout_session_id, 'checkout_url', t.checkout_url,
    'payment_intent_id', t.payment_intent_id,
    'credited', coalesce((select e.amount from ledger_entries e where e.id = t.credit_entry_id), 0),
    'refunded', coalesce((select sum(c.refunded_taken) from stripe_charges c
                           where t.payment_intent_id is not null and c.payment_intent_id = t.payment_intent_id), 0)
              + coalesce((select sum(d.amount) from stripe_disputes d
                           where t.payment_intent_id is not null and d.payment_intent_id = t.payment_intent_id
                             and d.withdrawn_entry_id is not null and d.reinstated_entry_id is null), 0),
    'failure_code', t.failure_code,
    'created_at', t.created_at, 'updated_at', t.updated_at)
$$;

create function topup_create(p_org_id uuid, p_amount bigint, p_idempotency_key text, p_fingerprint text)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  prior jsonb;
  t top_ups%rowtype;
begin
  if p_amount is null or p_amount < 1 or p_amount > 100000000 then
    raise exception 'topup_create: amount % out of range', p_amount using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'topup', p_idempotency_key, p_fingerprint);
  if prior is not null then
    if prior->>'outcome' = 'created' then
      select * into t from top_ups where id = (prior->>'top_up_id')::uuid;
      return jsonb_build_object('outcome', 'created', 'replayed', true, 'top_up', top_up_json(t));
    end if;
    return prior;
  end if;
  insert into top_ups (org_id, source, amount, currency)
  select p_org_id, 'checkout', p_amount, w.currency from wallets w where w.org_id = p_org_id
  returning * into t;
  perform idempotency_record(p_org_id, 'topup', p_idempotency_key, p_fingerprint,
                             jsonb_build_object('outcome', 'created', 'top_up_id', t.id));
  return jsonb_build_object('outcome', 'created', 'replayed', false, 'top_up', top_up_json(t));
end $$;

create function topup_attach_session(p_top_up_id uuid, p_session_id text, p_url text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare t top_ups%rowtype;
begin
  update top_ups set checkout_session_id = p_session_id, checkout_url = p_url, updated_at = now()
   where id = p_top_up_id and checkout_session_id is null
  returning * into t;
  if not found then
    select * into t from top_ups where id = p_top_up_id;
    if not found then
      return jsonb_build_object('outcome', 'not_found');
    end if;
  end if;
  return jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t));
end $$;

create function topup_get(p_org_id uuid, p_top_up_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t))
       from top_ups t where t.id = p_top_up_id and t.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- The Stripe customer of a wallet: the first one recorded wins (internal helper + public setter).
create function wallet_stripe_customer(p_org_id uuid, p_customer_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare v text;
begin
  if not exists (select 1 from wallets where org_id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into wallet_money_settings (org_id) values (p_org_id) on conflict (org_id) do nothing;
  if p_customer_id is not null then
    update wallet_money_settings set stripe_customer_id = p_customer_id, updated_at = now()
     where org_id = p_org_id and stripe_customer_id is null;
  end if;
  select stripe_customer_id into v from wallet_money_settings where org_id = p_org_id;
  return jsonb_build_object('outcome', 'found', 'customer_id', v);
end $$;

-- ---------------------------------------------------------------------------------------------
-- stripe_event_claim (internal): records an event id; false when it was recorded before (the
-- insert waits for a concurrent copy's transaction, then sees its row).
-- stripe_event_note: an event with no effect (unhandled type, unknown organisation): recorded
--   once and counted. Output {outcome: recorded | duplicate}.
-- ---------------------------------------------------------------------------------------------
create function stripe_event_claim(p_event_id text, p_type text, p_outcome text) returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into stripe_events (event_id, type, outcome) values (p_event_id, p_type, p_outcome)
  on conflict (event_id) do nothing;
  return found;
end $$;

create function stripe_event_note(p_event_id text, p_type text, p_outcome text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if not stripe_event_claim(p_event_id, p_type, p_outcome) then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  return jsonb_build_object('outcome', p_outcome);
end $$;

create function stripe_event_done(p_event_id text, p_outcome text, p_org_id uuid) returns void
language sql security definer set search_path = public, pg_temp as $$
  update stripe_events set outcome = p_outcome, org_id = p_org_id where event_id = p_event_id
$$;

-- ---------------------------------------------------------------------------------------------
-- stripe_reconcile_payment (internal): applies to the wallet what Stripe said about one
-- PaymentIntent's charges and disputes, once the payment is credited (before that, the facts
-- wait: a refund or dispute never reaches a wallet that never got the money).
-- Effects: topup_refund entries for refunds not yet taken (cumulative amount_refunded less what
--          was taken), a dispute debit once per dispute whose funds were withdrawn, its reversal
--          once when reinstated (only after the debit), the wallet frozen while a dispute of the
--          payment is open and unfrozen when the last dispute that froze it closes.
-- Output:  {outcome: applied | pending, org_id}
-- ---------------------------------------------------------------------------------------------
create function stripe_reconcile_payment(p_payment_intent_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  t top_ups%rowtype;
  c stripe_charges%rowtype;
  d stripe_disputes%rowtype;
  r jsonb;
  w wallets%rowtype;
begin
  select * into t from top_ups where payment_intent_id = p_payment_intent_id and status = 'paid';
  if not found then
    return jsonb_build_object('outcome', 'pending');
  end if;
  select * into w from wallets where org_id = t.org_id for update;
  for c in select * from stripe_charges where payment_intent_id = p_payment_intent_id
            order by charge_id for update loop
    if c.refunded_seen > c.refunded_taken then
      r := ledger_post(t.org_id, 'topup_refund', -(c.refunded_seen - c.refunded_taken),
                       'topup_refund:' || c.charge_id || ':' || c.refunded_seen,
                       'stripe refund of ' || c.charge_id, null, false);
      if r->>'outcome' not in ('posted', 'replayed') then
        raise exception 'stripe_reconcile_payment: refund not posted %', r using errcode = 'XX000';
      end if;
      update stripe_charges set refunded_taken = refunded_seen where charge_id = c.charge_id;
    end if;
  end loop;
  for d in select * from stripe_disputes where payment_intent_id = p_payment_intent_id
            order by dispute_id for update loop
    if not d.closed and not d.froze_wallet then
      perform wallet_freeze(t.org_id, 'dispute ' || d.dispute_id, 'stripe_dispute');
      update stripe_disputes set froze_wallet = true where dispute_id = d.dispute_id;
      d.froze_wallet := true;
    end if;
    if d.withdrawn_seen and d.withdrawn_entry_id is null then
      r := ledger_post(t.org_id, 'dispute', -d.amount, 'dispute:' || d.dispute_id,
                       'stripe dispute ' || d.dispute_id, null, false);
      d.withdrawn_entry_id := (r->>'entry_id')::bigint;
      update stripe_disputes set withdrawn_entry_id = d.withdrawn_entry_id where dispute_id = d.dispute_id;
    end if;
    if d.reinstated_seen and d.withdrawn_entry_id is not null and d.reinstated_entry_id is null then
      r := ledger_post(t.org_id, 'dispute_reversal', d.amount, 'dispute_reversal:' || d.dispute_id,
                       'stripe dispute ' || d.dispute_id || ' reinstated', d.withdrawn_entry_id, false);
      update stripe_disputes set reinstated_entry_id = (r->>'entry_id')::bigint where dispute_id = d.dispute_id;
    end if;
    if d.closed and d.froze_wallet then
      update stripe_disputes set froze_wallet = false where dispute_id = d.dispute_id;
      -- Unfreeze only what a dispute froze, and only when no other dispute of this wallet is open.
      if not exists (select 1 from stripe_disputes x join top_ups y on y.payment_intent_id = x.payment_intent_id
                      where y.org_id = t.org_id and x.froze_wallet)
         -- Who froze it is a column (wallets.frozen_source, 20261130001200), not a pattern in
         -- free text: an operator's reason may begin with "dispute", and an operator who froze
         -- the wallet while a dispute was open took the freeze over (wallet_freeze).
         and (select frozen_source from wallets where org_id = t.org_id) = 'stripe_dispute' then
        perform wallet_unfreeze(t.org_id, 'stripe_dispute');
      end if;
    end if;
  end loop;
  return jsonb_build_object('outcome', 'applied', 'org_id', t.org_id);
end $$;

-- ---------------------------------------------------------------------------------------------
-- stripe_payment_succeeded: a top-up's payment was made (checkout.session.completed with
-- payment_status paid, checkout.session.async_payment_succeeded, payment_intent.succeeded).
-- Inputs:  event id and type, our top-up id (metadata.topUpId), the org Stripe names
--          (metadata.orgId), the PaymentIntent, amount and currency paid, the checkout session
--          (or null), and the saved card (customer, payment method, brand, last4; each nullable).
-- Output:  {outcome: credited | already_credited | duplicate | unknown_organisation | mismatch,
--           org_id, top_up, wallet}
-- Effects: once per event id and once per PaymentIntent (ledger key topup:pi:<id>): one topup
--          entry, the top-up paid, the card saved, the recharge in flight done, then whatever
--          refunds and disputes of this payment were waiting.
-- ---------------------------------------------------------------------------------------------
create function stripe_payment_succeeded(
  p_event_id text, p_type text, p_top_up_id uuid, p_org_id uuid, p_payment_intent_id text,
  p_amount bigint, p_currency text, p_session_id text, p_customer_id text,
  p_payment_method_id text, p_card_brand text, p_card_last4 text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  t top_ups%rowtype;
  r jsonb;
  v_outcome text;
begin
  -- One payment's events one at a time: a refund or dispute that races the payment's credit
  -- would otherwise find no credited top-up (its payment intent is written by the credit) while
  -- the credit does not see the refund's uncommitted row, and neither applies it. Taken first,
  -- before any row lock, by the three functions that touch one payment.
  perform stripe_payment_lock(p_payment_intent_id);
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  -- Lock order everywhere: wallet, then top-up, then settings/charges/disputes.
  perform 1 from wallets where org_id = (select org_id from top_ups where id = p_top_up_id) for update;
  select * into t from top_ups where id = p_top_up_id for update;
  if not found or t.org_id is distinct from p_org_id then
    perform stripe_event_done(p_event_id, 'unknown_organisation', null);
    return jsonb_build_object('outcome', 'unknown_organisation');
  end if;
  if t.currency <> p_currency or t.amount <> p_amount
     or (t.payment_intent_id is not null and t.payment_intent_id <> p_payment_intent_id)
     or (p_session_id is not null and t.checkout_session_id is not null and t.checkout_session_id <> p_session_id) then
    perform stripe_event_done(p_event_id, 'mismatch', t.org_id);
    return jsonb_build_object('outcome', 'mismatch', 'org_id', t.org_id, 'top_up', top_up_json(t));
  end if;
  -- Even an expired or failed top-up is credited when Stripe says its money was paid: a payment
  -- that happened is money the customer has (a later card after a decline, a race with expiry).
  r := ledger_post(t.org_id, 'topup', p_amount, 'topup:pi:' || p_payment_intent_id,
                   'stripe ' || p_payment_intent_id, null, false);
  if r->>'outcome' not in ('posted', 'replayed') then
    raise exception 'stripe_payment_succeeded: ledger outcome %', r using errcode = 'XX000';
  end if;
  v_outcome := case when r->>'outcome' = 'posted' then 'credited' else 'already_credited' end;
  update top_ups
     set status = 'paid', payment_intent_id = p_payment_intent_id, credit_entry_id = (r->>'entry_id')::bigint,
         failure_code = null, failure_message = null, updated_at = now()
   where id = t.id
  returning * into t;
  insert into wallet_money_settings (org_id) values (t.org_id) on conflict (org_id) do nothing;
  update wallet_money_settings
     set stripe_customer_id = coalesce(stripe_customer_id, p_customer_id),
         payment_method_id = coalesce(p_payment_method_id, payment_method_id),
         payment_method_brand = case when p_payment_method_id is not null then p_card_brand else payment_method_brand end,
         payment_method_last4 = case when p_payment_method_id is not null then p_card_last4 else payment_method_last4 end,
         recharge_in_flight = case when recharge_in_flight = t.id then null else recharge_in_flight end,
         recharge_failures = case when t.source = 'auto_recharge' then 0 else recharge_failures end,
         updated_at = now()
   where org_id = t.org_id;
  perform stripe_reconcile_payment(p_payment_intent_id);
  perform stripe_event_done(p_event_id, v_outcome, t.org_id);
  select * into t from top_ups where id = t.id;
  return jsonb_build_object('outcome', v_outcome, 'org_id', t.org_id, 'top_up', top_up_json(t),
                            'wallet', wallet_cache_json(t.org_id));
end $$;

-- ---------------------------------------------------------------------------------------------
-- stripe_payment_closed: a top-up that will not be paid through this session or attempt
-- (checkout.session.expired → expired, async_payment_failed / payment_intent.payment_failed →
-- failed). A paid top-up stays paid. An auto-recharge failure counts towards turning it off.
-- Output:  {outcome: closed | already | duplicate | unknown_organisation, top_up, disabled}
-- ---------------------------------------------------------------------------------------------
create function stripe_payment_closed(
  p_event_id text, p_type text, p_top_up_id uuid, p_org_id uuid, p_status text,
  p_failure_code text, p_failure_message text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  t top_ups%rowtype;
  r jsonb;
begin
  if p_status not in ('failed', 'expired') then
    raise exception 'stripe_payment_closed: status % is not failed or expired', p_status using errcode = '22023';
  end if;
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  select * into t from top_ups where id = p_top_up_id;
  if not found or t.org_id is distinct from p_org_id then
    perform stripe_event_done(p_event_id, 'unknown_organisation', null);
    return jsonb_build_object('outcome', 'unknown_organisation');
  end if;
  r := top_up_fail(t.id, p_status, p_failure_code, p_failure_message);
  perform stripe_event_done(p_event_id, r->>'outcome', t.org_id);
  return r;
end $$;

-- top_up_fail (internal, also auto_recharge_failed): pending → failed/expired once; an
-- auto-recharge's failure is counted, emitted, and turns auto-recharge off at the third in a row.
create function top_up_fail(p_top_up_id uuid, p_status text, p_failure_code text, p_failure_message text)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  t top_ups%rowtype;
  s wallet_money_settings%rowtype;
  v_disabled boolean := false;
begin
  select * into t from top_ups where id = p_top_up_id;
  perform 1 from wallets where org_id = t.org_id for update;
  select * into t from top_ups where id = p_top_up_id for update;
  if t.status <> 'pending' and not (t.status = 'failed' and p_status = 'expired') then
    return jsonb_build_object('outcome', 'already', 'org_id', t.org_id, 'top_up', top_up_json(t), 'disabled', false);
  end if;
  update top_ups set status = p_status, failure_code = left(p_failure_code, 100),
                     failure_message = left(p_failure_message, 500), updated_at = now()
   where id = t.id returning * into t;
  if t.source = 'auto_recharge' then
    select * into s from wallet_money_settings where org_id = t.org_id for update;
    if s.recharge_in_flight = t.id then
      s.recharge_failures := s.recharge_failures + 1;
      v_disabled := s.recharge_failures >= 3 and s.recharge_enabled;
      update wallet_money_settings
         set recharge_in_flight = null, recharge_failures = s.recharge_failures,
             recharge_enabled = recharge_enabled and not v_disabled, updated_at = now()
       where org_id = t.org_id;
      perform wallet_event_emit(t.org_id, 'auto_recharge.failed', jsonb_build_object(
        'topUpId', t.id, 'amount', t.amount, 'code', t.failure_code, 'message', t.failure_message,
        'failuresInARow', s.recharge_failures));
      if v_disabled then
        perform wallet_event_emit(t.org_id, 'auto_recharge.disabled', jsonb_build_object(
          'reason', 'three_failures_in_a_row', 'failuresInARow', s.recharge_failures));
      end if;
    end if;
  end if;
  return jsonb_build_object('outcome', 'closed', 'org_id', t.org_id, 'top_up', top_up_json(t), 'disabled', v_disabled);
end $$;

-- ---------------------------------------------------------------------------------------------
-- stripe_charge_refunded: charge.refunded (amount_refunded is cumulative).
-- stripe_dispute_event: charge.dispute.created / funds_withdrawn / funds_reinstated / closed.
-- Both record what Stripe said (monotonically: a replayed or older refund total never lowers
-- what is known) and reconcile the payment. Output {outcome: applied | pending | duplicate |
-- mismatch, org_id, wallet}.
-- ---------------------------------------------------------------------------------------------
-- stripe_lock_payment_wallet (internal): locks the wallet a PaymentIntent was credited to, if
-- any, before the charge and dispute rows (the lock order of every money-in function).
-- stripe_payment_lock (internal): a transaction lock on one payment intent (see its callers).
create function stripe_payment_lock(p_payment_intent_id text) returns void
language sql security definer set search_path = public, pg_temp as $$
  select pg_advisory_xact_lock(hashtextextended('stripe:pi:' || coalesce(p_payment_intent_id, ''), 0))
$$;

create function stripe_lock_payment_wallet(p_payment_intent_id text) returns void
language sql security definer set search_path = public, pg_temp as $$
  select 1 from wallets
   where org_id = (select org_id from top_ups where payment_intent_id = p_payment_intent_id)
  for update
$$;

create function stripe_charge_refunded(
  p_event_id text, p_type text, p_charge_id text, p_payment_intent_id text, p_amount_refunded bigint,
  p_currency text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  -- One payment's events one at a time: a refund or dispute that races the payment's credit
  -- would otherwise find no credited top-up (its payment intent is written by the credit) while
  -- the credit does not see the refund's uncommitted row, and neither applies it. Taken first,
  -- before any row lock, by the three functions that touch one payment.
  perform stripe_payment_lock(p_payment_intent_id);
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  perform stripe_lock_payment_wallet(p_payment_intent_id);
  insert into stripe_charges (charge_id, payment_intent_id, currency, refunded_seen)
  values (p_charge_id, p_payment_intent_id, p_currency, p_amount_refunded)
  on conflict (charge_id) do update set refunded_seen = greatest(stripe_charges.refunded_seen, excluded.refunded_seen);
  r := stripe_reconcile_payment(p_payment_intent_id);
  perform stripe_event_done(p_event_id, r->>'outcome', (r->>'org_id')::uuid);
  if r->>'org_id' is not null then
    r := r || jsonb_build_object('wallet', wallet_cache_json((r->>'org_id')::uuid));
  end if;
  return r;
end $$;

create function stripe_dispute_event(
  p_event_id text, p_type text, p_dispute_id text, p_charge_id text, p_payment_intent_id text,
  p_amount bigint, p_currency text, p_status text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  if p_type not in ('charge.dispute.created', 'charge.dispute.funds_withdrawn',
                    'charge.dispute.funds_reinstated', 'charge.dispute.closed', 'charge.dispute.updated') then
    raise exception 'stripe_dispute_event: type % is not a dispute event', p_type using errcode = '22023';
  end if;
  -- One payment's events one at a time: a refund or dispute that races the payment's credit
  -- would otherwise find no credited top-up (its payment intent is written by the credit) while
  -- the credit does not see the refund's uncommitted row, and neither applies it. Taken first,
  -- before any row lock, by the three functions that touch one payment.
  perform stripe_payment_lock(p_payment_intent_id);
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  perform stripe_lock_payment_wallet(p_payment_intent_id);
  insert into stripe_disputes (dispute_id, payment_intent_id, charge_id, amount, currency, status,
                               closed, withdrawn_seen, reinstated_seen)
  values (p_dispute_id, p_payment_intent_id, p_charge_id, p_amount, p_currency, p_status,
          p_type = 'charge.dispute.closed', p_type = 'charge.dispute.funds_withdrawn',
          p_type = 'charge.dispute.funds_reinstated')
  on conflict (dispute_id) do update
     set closed = stripe_disputes.closed or excluded.closed,
         withdrawn_seen = stripe_disputes.withdrawn_seen or excluded.withdrawn_seen,
         reinstated_seen = stripe_disputes.reinstated_seen or excluded.reinstated_seen,
         status = case when excluded.closed then excluded.status else stripe_disputes.status end;
  r := stripe_reconcile_payment(p_payment_intent_id);
  perform stripe_event_done(p_event_id, r->>'outcome', (r->>'org_id')::uuid);
  if r->>'org_id' is not null then
    r := r || jsonb_build_object('wallet', wallet_cache_json((r->>'org_id')::uuid));
  end if;
  return r;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Auto-recharge.
-- auto_recharge_settings_get / _put: Inputs org (and enabled, threshold, amount).
--   Output {outcome: found | no_payment_method | not_found, settings}. Turning it on resets the
--   failure count; the rule is evaluated at once (the wallet may already be below).
-- auto_recharge_claim: the worker's step for a "recharge wanted". Under the wallet lock:
--   Output {outcome: claimed | resume (a pending one to submit again, same idempotency key),
--           top_up, customer_id, payment_method_id}
--   | {outcome: cooldown, retry_after_ms} | {outcome: in_flight | not_needed | off | frozen}
--   Effects: at most one recharge in flight per wallet; none within p_cooldown_seconds of the
--   last one started.
-- auto_recharge_failed: a card-level failure of one recharge (once per recharge).
-- ---------------------------------------------------------------------------------------------
create function auto_recharge_json(s wallet_money_settings) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('enabled', s.recharge_enabled, 'threshold', s.recharge_threshold,
    'amount', s.recharge_amount, 'failures_in_a_row', s.recharge_failures,
    'currency', (select currency from wallets where org_id = s.org_id),
    'payment_method', case when s.payment_method_id is null then null
                           else jsonb_build_object('brand', s.payment_method_brand, 'last4', s.payment_method_last4) end)
$$;

create function auto_recharge_settings_get(p_org_id uuid) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare s wallet_money_settings%rowtype;
begin
  if not exists (select 1 from wallets where org_id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into s from wallet_money_settings where org_id = p_org_id;
  if not found then
    s.org_id := p_org_id; s.recharge_enabled := false; s.recharge_threshold := 0; s.recharge_amount := 0;
    s.recharge_failures := 0;
  end if;
  return jsonb_build_object('outcome', 'found', 'settings', auto_recharge_json(s));
end $$;

create function auto_recharge_settings_put(p_org_id uuid, p_enabled boolean, p_threshold bigint, p_amount bigint)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare s wallet_money_settings%rowtype;
begin
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into wallet_money_settings (org_id) values (p_org_id) on conflict (org_id) do nothing;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if p_enabled and s.payment_method_id is null then
    return jsonb_build_object('outcome', 'no_payment_method', 'settings', auto_recharge_json(s));
  end if;
  update wallet_money_settings
     set recharge_enabled = p_enabled, recharge_threshold = p_threshold, recharge_amount = p_amount,
         recharge_failures = case when p_enabled and not recharge_enabled then 0 else recharge_failures end,
         updated_at = now()
   where org_id = p_org_id;
  perform wallet_money_watch(p_org_id);
  select * into s from wallet_money_settings where org_id = p_org_id;
  return jsonb_build_object('outcome', 'found', 'settings', auto_recharge_json(s));
end $$;

create function auto_recharge_claim(p_org_id uuid, p_cooldown_seconds integer) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  w wallets%rowtype;
  s wallet_money_settings%rowtype;
  t top_ups%rowtype;
  v_available bigint;
  v_next timestamptz;
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'off');
  end if;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if not found or not s.recharge_enabled then
    update wallet_money_settings set recharge_wanted = false where org_id = p_org_id;
    return jsonb_build_object('outcome', 'off');
  end if;
  if s.recharge_in_flight is not null then
    select * into t from top_ups where id = s.recharge_in_flight;
    -- A recharge Stripe never acknowledged (its job's Stripe call failed with an outage and the
    -- job is retried, or the process died before the call), or one started long ago and never
    -- answered: submit it again under the same idempotency key; Stripe answers the first result.
    -- Told "in flight" instead, the retried job would end and nothing would ever send it.
    if t.status = 'pending' and (t.payment_intent_id is null or s.recharge_last_attempt_at < now() - interval '10 minutes') then
      update wallet_money_settings set recharge_last_attempt_at = now() where org_id = p_org_id;
      return jsonb_build_object('outcome', 'resume', 'top_up', top_up_json(t),
        'customer_id', s.stripe_customer_id, 'payment_method_id', s.payment_method_id);
    end if;
    return jsonb_build_object('outcome', 'in_flight');
  end if;
  if w.frozen then
    update wallet_money_settings set recharge_wanted = false where org_id = p_org_id;
    return jsonb_build_object('outcome', 'frozen');
  end if;
  v_available := w.balance - call_holds_sum(p_org_id, now());
  if v_available >= s.recharge_threshold then
    update wallet_money_settings set recharge_wanted = false where org_id = p_org_id;
    return jsonb_build_object('outcome', 'not_needed', 'available', v_available);
  end if;
  v_next := s.recharge_last_attempt_at + make_interval(secs => p_cooldown_seconds);
  if v_next > now() then
    update wallet_money_settings set recharge_wanted = true where org_id = p_org_id;
    return jsonb_build_object('outcome', 'cooldown',
      'retry_after_ms', ceil(extract(epoch from (v_next - now())) * 1000)::bigint);
  end if;
  insert into top_ups (org_id, source, amount, currency)
  values (p_org_id, 'auto_recharge', s.recharge_amount, w.currency)
  returning * into t;
  update wallet_money_settings
     set recharge_in_flight = t.id, recharge_last_attempt_at = now(), recharge_wanted = false, updated_at = now()
   where org_id = p_org_id;
  return jsonb_build_object('outcome', 'claimed', 'top_up', top_up_json(t),
    'customer_id', s.stripe_customer_id, 'payment_method_id', s.payment_method_id);
end $$;

create function auto_recharge_submitted(p_top_up_id uuid, p_payment_intent_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare t top_ups%rowtype;
begin
  update top_ups set payment_intent_id = coalesce(payment_intent_id, p_payment_intent_id), updated_at = now()
   where id = p_top_up_id returning * into t;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t));
end $$;

create function auto_recharge_failed(p_top_up_id uuid, p_failure_code text, p_failure_message text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if not exists (select 1 from top_ups where id = p_top_up_id and source = 'auto_recharge') then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return top_up_fail(p_top_up_id, 'failed', coalesce(p_failure_code, 'unknown'), p_failure_message);
end $$;

-- ---------------------------------------------------------------------------------------------
-- Alerts and events.
-- wallet_alerts_put: thresholds (0..5 distinct, >= 0) and the webhook URL; the signing secret is
--   kept from the first time (p_new_secret is used only when none exists; signing_secret is
--   returned only then). Thresholds the wallet is already at or below count as crossed (no
--   burst of alerts for the past), evaluated at once.
-- wallet_events_list: newest first, keyset by id.
-- wallet_event_for_delivery / wallet_event_delivered: the delivery job's read and its record.
-- money_outbox_claim / money_outbox_done: the relay's lease on pending outbox rows.
-- ---------------------------------------------------------------------------------------------
create function wallet_alerts_put(p_org_id uuid, p_thresholds jsonb, p_webhook_url text, p_new_secret text)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  s wallet_money_settings%rowtype;
  v_thresholds bigint[];
  v_new boolean;
  v_available bigint;
begin
  if jsonb_typeof(p_thresholds) = 'string' then
    p_thresholds := (p_thresholds #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_thresholds) is distinct from 'array' or jsonb_array_length(p_thresholds) > 5 then
    raise exception 'wallet_alerts_put: at most five thresholds' using errcode = '22023';
  end if;
  select coalesce(array_agg(distinct x::bigint order by x::bigint desc), '{}') into v_thresholds
    from jsonb_array_elements_text(p_thresholds) x;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into wallet_money_settings (org_id) values (p_org_id) on conflict (org_id) do nothing;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  v_new := s.signing_secret is null;
  v_available := (select balance from wallets where org_id = p_org_id) - call_holds_sum(p_org_id, now());
  update wallet_money_settings
     set alert_thresholds = v_thresholds,
         alerts_low = (select coalesce(array_agg(x), '{}') from unnest(v_thresholds) x where v_available <= x),
         webhook_url = p_webhook_url,
         signing_secret = coalesce(signing_secret, p_new_secret), updated_at = now()
   where org_id = p_org_id
  returning * into s;
  return jsonb_build_object('outcome', 'found', 'thresholds', to_jsonb(s.alert_thresholds),
    'webhook_url', s.webhook_url, 'signing_secret', case when v_new then s.signing_secret end,
    'currency', (select currency from wallets where org_id = p_org_id));
end $$;

create function wallet_events_list(p_org_id uuid, p_before_id bigint, p_limit integer) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', e.id, 'type', e.type, 'data', e.data, 'created_at', e.created_at) order by e.id desc), '[]'::jsonb))
    from (select * from wallet_events
           where org_id = p_org_id and (p_before_id is null or id < p_before_id)
           order by id desc
           limit least(greatest(p_limit, 1), 1000)) e
$$;

create function wallet_event_for_delivery(p_event_id bigint) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'id', e.id, 'org_id', e.org_id, 'type', e.type,
       'data', e.data, 'created_at', e.created_at, 'delivered', e.delivered_at is not null,
       'webhook_url', s.webhook_url, 'signing_secret', s.signing_secret)
       from wallet_events e left join wallet_money_settings s on s.org_id = e.org_id
      where e.id = p_event_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

create function wallet_event_delivered(p_event_id bigint) returns jsonb
language sql security definer set search_path = public, pg_temp as $$
  update wallet_events set delivered_at = coalesce(delivered_at, now()) where id = p_event_id;
  select jsonb_build_object('outcome', 'delivered')
$$;

create function money_outbox_claim(p_limit integer, p_lease_seconds integer) returns jsonb
language sql security definer set search_path = public, pg_temp as $$
  with picked as (
    select id from money_outbox
     where done_at is null and (claimed_until is null or claimed_until < now())
     order by id
     limit least(greatest(p_limit, 1), 1000)
     for update skip locked),
  claimed as (
    update money_outbox o set claimed_until = now() + make_interval(secs => p_lease_seconds)
      from picked where o.id = picked.id
    returning o.id, o.org_id, o.task, o.event_id)
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'org_id', org_id, 'task', task, 'event_id', event_id) order by id), '[]'::jsonb))
    from claimed
$$;

create function money_outbox_done(p_id bigint) returns jsonb
language sql security definer set search_path = public, pg_temp as $$
  update money_outbox set done_at = now() where id = p_id and done_at is null;
  select jsonb_build_object('outcome', 'done')
$$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20): the service role only.
-- ---------------------------------------------------------------------------------------------
revoke all on all tables in schema public from public, anon, authenticated;
revoke all on all sequences in schema public from public, anon, authenticated;
revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on function
  wallet_freeze(uuid, text, text),
  wallet_unfreeze(uuid, text),
  topup_create(uuid, bigint, text, text),
  topup_attach_session(uuid, text, text),
  topup_get(uuid, uuid),
  wallet_stripe_customer(uuid, text),
  stripe_event_note(text, text, text),
  stripe_payment_succeeded(text, text, uuid, uuid, text, bigint, text, text, text, text, text, text),
  stripe_payment_closed(text, text, uuid, uuid, text, text, text),
  stripe_charge_refunded(text, text, text, text, bigint, text),
  stripe_dispute_event(text, text, text, text, text, bigint, text, text),
  auto_recharge_settings_get(uuid),
  auto_recharge_settings_put(uuid, boolean, bigint, bigint),
  auto_recharge_claim(uuid, integer),
  auto_recharge_submitted(uuid, text),
  auto_recharge_failed(uuid, text, text),
  wallet_alerts_put(uuid, jsonb, text, text),
  wallet_events_list(uuid, bigint, integer),
  wallet_event_for_delivery(bigint),
  wallet_event_delivered(bigint),
  money_outbox_claim(integer, integer),
  money_outbox_done(bigint)
to service_role;
