-- Spend controls and frozen wallets (CONTRACT §8, docs/call-gate.md "Spend controls and frozen
-- wallets"). Everything the gate needs to enforce them lives on the wallet row, so one row lock
-- serialises them with every money movement, and one version number (wallets.version) guards the
-- whole cached wallet hash in Redis: a limit change and a freeze bump the version like a ledger
-- entry does, so a stale writer can never put back an older limit, freeze state or daily spend.
--
-- The daily spend is kept exact by ledger_post itself: every entry it posts adds its spend to
-- (spend_day, spend_today) in the same UPDATE that changes the balance. A reader at time t counts
-- spend_today only when spend_day is t's UTC day (else zero): the day boundary needs no job.
--
-- wallets.frozen, wallets.frozen_reason, wallet_freeze() and wallet_unfreeze() are shared with
-- money in (20261130001100, Stripe disputes); the final versions are in 20261130001500.

alter table wallets add column if not exists frozen boolean not null default false;
alter table wallets add column if not exists frozen_reason text;
alter table wallets
  -- The UTC day whose spend spend_today holds (call charges, number purchases, less refunds of
  -- purchases made that day). Holds of calls in progress are added by the readers.
  add column if not exists spend_day date,
  add column if not exists spend_today bigint not null default 0,
  -- Operators' limits; null = no limit. Bounds as in api/routes/admin-org-limits.ts.
  add column if not exists max_concurrent_calls integer check (max_concurrent_calls between 0 and 10000),
  add column if not exists daily_spend_limit bigint check (daily_spend_limit between 0 and 100000000),
  add column if not exists max_call_seconds integer check (max_call_seconds between 10 and 43200),
  add column if not exists max_numbers_per_day integer check (max_numbers_per_day between 0 and 1000),
  add column if not exists frozen_at timestamptz,
  add column if not exists frozen_source text check (length(frozen_source) <= 100);

-- maxNumbersPerDay counts today's purchases of one organisation.
create index if not exists provisioning_requests_org_created on provisioning_requests (org_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- wallet_controls_json (internal): the part of the cached wallet hash beyond balance, version
-- and currency. spend_day is days since 1970-01-01 (UTC), as the Lua scripts compute from `now`.
-- ---------------------------------------------------------------------------------------------
create or replace function wallet_controls_json(w wallets) returns jsonb
language sql immutable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object(
    'frozen', w.frozen,
    'spend_day', coalesce(w.spend_day - date '1970-01-01', 0),
    'spend', case when w.spend_day is null then 0 else w.spend_today end,
    'max_concurrent_calls', w.max_concurrent_calls,
    'daily_spend_limit', w.daily_spend_limit,
    'max_call_seconds', w.max_call_seconds,
    'max_numbers_per_day', w.max_numbers_per_day)
$$;

-- wallet_spent_on (internal): the posted spend of the UTC day of p_now (holds not included).
create or replace function wallet_spent_on(w wallets, p_now timestamptz) returns bigint
language sql immutable security definer set search_path = public, pg_temp as $$
  select case when w.spend_day = (p_now at time zone 'utc')::date then w.spend_today else 0 end
$$;

-- Live calls of one organisation at p_now: admitted, neither ended nor settled (internal).
create or replace function calls_live_count(p_org_id uuid, p_now timestamptz) returns bigint
language sql stable security definer set search_path = public, pg_temp as $$
  select count(*) from calls
   where org_id = p_org_id and hold_state = 'held' and ended_at is null and settled_at is null
     and hold_expires_at > p_now
$$;

-- ---------------------------------------------------------------------------------------------
-- ledger_result: as before, plus `controls` (wallet_controls_json) so that every write-through
-- of a posted entry carries the whole cached wallet at that version.
-- ---------------------------------------------------------------------------------------------
create or replace function ledger_result(p_outcome text, e ledger_entries, w wallets) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'outcome', p_outcome, 'entry_id', e.id, 'kind', e.kind, 'amount', e.amount,
    'balance_before', e.balance_before, 'balance_after', e.balance_after,
    'created_at', e.created_at,
    -- The wallet now (for the cache), which after a replay may differ from balance_after.
    'balance', w.balance, 'version', w.version, 'currency', w.currency,
    'debt_limit', w.debt_limit, 'controls', wallet_controls_json(w))
$$;

-- ---------------------------------------------------------------------------------------------
-- ledger_post: unchanged (see 20261123000100), except that the wallet UPDATE also adds the
-- entry's spend to today's: call charges and purchases (−amount), refunds of purchases posted
-- the same UTC day (−amount, i.e. less); top-ups and anything else add nothing. A refund of a
-- purchase made on an earlier day gives that day's money back, not today's headroom.
-- ---------------------------------------------------------------------------------------------
create or replace function ledger_post(
  p_org_id uuid, p_kind text, p_amount bigint, p_idempotency_key text, p_reference text,
  p_reverses_entry_id bigint, p_require_funds boolean
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  w wallets%rowtype;
  e ledger_entries%rowtype;
  v_day date := (now() at time zone 'utc')::date;
  v_spend bigint := 0;
begin
  -- The row lock serialises every movement of this wallet: the funds check and the debit are
  -- one decision (failure mode 1), and the key lookup below sees every committed entry.
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

  if p_kind in ('call', 'phone_number') then
    v_spend := -p_amount;
  elsif p_kind = 'phone_number_refund' and exists (
      select 1 from ledger_entries d
       where d.id = p_reverses_entry_id and (d.created_at at time zone 'utc')::date = v_day) then
    v_spend := -p_amount;
  end if;

  update wallets
     set balance = balance + p_amount, version = version + 1, updated_at = now(),
         spend_today = case when spend_day = v_day then spend_today else 0 end + v_spend,
         spend_day = v_day
   where org_id = p_org_id
  returning * into w;

  insert into ledger_entries
    (org_id, kind, amount, balance_before, balance_after, reference, idempotency_key,
     reverses_entry_id)
  values
    (p_org_id, p_kind, p_amount, w.balance - p_amount, w.balance, p_reference,
     p_idempotency_key, p_reverses_entry_id)
  returning * into e;

  return ledger_result('posted', e, w);
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_purchase_refusal (internal): why a purchase of p_price must be refused, or null.
-- Call under the wallet row lock. Order: frozen, then maxNumbersPerDay, then dailySpendLimit
-- (posted spend of today + holds of calls in progress + the price); funds are ledger_post's.
-- Output:  {outcome: wallet_frozen} | {outcome: limit_reached, limit} | null.
-- ---------------------------------------------------------------------------------------------
create or replace function wallet_purchase_refusal(w wallets, p_price bigint, p_now timestamptz)
returns jsonb
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if w.frozen then
    return jsonb_build_object('outcome', 'wallet_frozen');
  end if;
  if w.max_numbers_per_day is not null and (
       select count(*) from provisioning_requests r
        where r.org_id = w.org_id
          and r.created_at >= date_trunc('day', p_now at time zone 'utc') at time zone 'utc'
          and r.status not in ('failed', 'refunded')) >= w.max_numbers_per_day then
    return jsonb_build_object('outcome', 'limit_reached', 'limit', 'maxNumbersPerDay');
  end if;
  if w.daily_spend_limit is not null
     and wallet_spent_on(w, p_now) + call_holds_sum(w.org_id, p_now) + p_price > w.daily_spend_limit then
    return jsonb_build_object('outcome', 'limit_reached', 'limit', 'dailySpendLimit');
  end if;
  return null;
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_debit_for_purchase: as before, and refused (nothing debited) when the wallet is frozen
-- or a spend limit would be passed: {outcome: wallet_frozen} | {outcome: limit_reached, limit}.
-- A replayed key still returns its debit.
-- ---------------------------------------------------------------------------------------------
create or replace function wallet_debit_for_purchase(
  p_org_id uuid, p_amount bigint, p_idempotency_key text, p_reference text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r jsonb;
  w wallets%rowtype;
begin
  if p_amount is null or p_amount < 1 then
    raise exception 'wallet_debit_for_purchase: amount % must be positive', p_amount
      using errcode = '22023';
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if found and not exists (select 1 from ledger_entries
                            where org_id = p_org_id and idempotency_key = p_idempotency_key) then
    r := wallet_purchase_refusal(w, p_amount, now());
    if r is not null then
      return r;
    end if;
  end if;
  r := ledger_post(p_org_id, 'phone_number', -p_amount, p_idempotency_key, p_reference,
                   null, true);
  if r->>'outcome' in ('posted', 'replayed') then
    r := r || jsonb_build_object('outcome', 'debited', 'replayed', r->>'outcome' = 'replayed');
  end if;
  return r;
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_create: as in 20261123000200, and refused before the debit when the wallet
-- is frozen or a spend limit would be passed. The refusal is the key's first outcome (recorded,
-- replayed as it was, like insufficient_funds). Output adds {outcome: wallet_frozen} and
-- {outcome: limit_reached, limit}; `queued` adds `controls` for the cache.
-- ---------------------------------------------------------------------------------------------
create or replace function provision_request_create(
  p_org_id uuid, p_price bigint, p_idempotency_key text, p_fingerprint text, p_area_code text,
  p_country text, p_assistant_id text, p_max_attempts integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  prior jsonb;
  d jsonb;
  refusal jsonb;
  w wallets%rowtype;
  r provisioning_requests%rowtype;
  v_id uuid := gen_random_uuid();
begin
  if p_price is null or p_price < 1 then
    raise exception 'provision_request_create: price % must be positive', p_price using errcode = '22023';
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'provision', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  refusal := wallet_purchase_refusal(w, p_price, now());
  if refusal is not null then
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint, refusal);
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
      'currency', d->>'currency', 'controls', d->'controls'));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_refund and call_settle: unchanged inside; their answers gain `controls`
-- (the wallet row they locked, read in the same transaction, so it is the same version).
-- ---------------------------------------------------------------------------------------------
alter function provision_request_refund(uuid) rename to provision_request_refund_core;
create function provision_request_refund(p_request_id uuid) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  r := provision_request_refund_core(p_request_id);
  if r ? 'version' then
    r := r || jsonb_build_object('controls', (select wallet_controls_json(w) from wallets w
                                               where w.org_id = (r #>> '{request,org_id}')::uuid));
  end if;
  return r;
end $$;

alter function call_settle(text, bigint, integer, text) rename to call_settle_core;
create function call_settle(
  p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_settled_by text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  r := call_settle_core(p_call_id, p_rate_per_minute, p_grace_seconds, p_settled_by);
  if r ? 'version' then
    r := r || jsonb_build_object('controls', (select wallet_controls_json(w) from wallets w
                                               where w.org_id = (r->>'org_id')::uuid));
  end if;
  return r;
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_get: as before, plus frozen, frozen_reason and controls (GET /api/wallet, the cache).
-- ---------------------------------------------------------------------------------------------
create or replace function wallet_get(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'org_id', w.org_id, 'currency', w.currency, 'balance', w.balance,
       'debt_limit', w.debt_limit, 'version', w.version, 'updated_at', w.updated_at,
       'frozen', w.frozen, 'frozen_reason', w.frozen_reason, 'controls', wallet_controls_json(w))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- call_gate_snapshot: as in 20261130000300, plus controls (the cache fill stores the whole hash).
create or replace function call_gate_snapshot(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'balance', w.balance, 'version', w.version, 'currency', w.currency,
       'controls', wallet_controls_json(w),
       'holds', coalesce((select jsonb_agg(call_hold_json(c))
                  from calls c
                 where c.org_id = w.org_id and c.hold_state = 'held' and c.hold_expires_at > now()),
                 '[]'::jsonb))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_admit: the Postgres-side admission (20261130000300) with the spend controls, at the
-- clock p_now (null = now(); tests pass tomorrow to cross the UTC day boundary).
-- Order under the wallet row lock: an existing entry for the call is answered as before; then
--   frozen                          → {outcome: refused, reason: wallet_frozen}
--   live calls ≥ max_concurrent_calls → {outcome: refused, reason: maxConcurrentCalls}
--   the plan on min(available, daily_spend_limit − today's spend − live holds), with Vapi's
--   upper bound lowered to max_call_seconds; no plan while one on `available` alone exists
--                                   → {outcome: refused, reason: dailySpendLimit}
--   else as before ({outcome: available} | {outcome: held, ...}).
-- ---------------------------------------------------------------------------------------------
drop function call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer, text, integer);
create function call_gate_admit(
  p_org_id uuid, p_call_id text, p_rate_per_minute bigint, p_min_balance bigint,
  p_safety_margin_seconds integer, p_hold_grace_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer,
  p_now timestamptz
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  w wallets%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_held bigint;
  v_available bigint;
  v_effective bigint;
  v_max_seconds integer := p_max_duration_seconds;
  v_plan bigint[];
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'existing', 'hold_amount', c.hold_amount,
      'max_duration_seconds', c.max_duration_seconds, 'hold_state', c.hold_state);
  end if;
  if w.frozen then
    return jsonb_build_object('outcome', 'refused', 'reason', 'wallet_frozen');
  end if;
  if w.max_concurrent_calls is not null and calls_live_count(p_org_id, v_now) >= w.max_concurrent_calls then
    return jsonb_build_object('outcome', 'refused', 'reason', 'maxConcurrentCalls');
  end if;
  v_held := call_holds_sum(p_org_id, v_now);
  v_available := w.balance - v_held;
  v_effective := v_available;
  if w.daily_spend_limit is not null then
    v_effective := least(v_available, w.daily_spend_limit - wallet_spent_on(w, v_now) - v_held);
  end if;
  if w.max_call_seconds is not null then
    v_max_seconds := least(v_max_seconds, w.max_call_seconds);
  end if;
  v_plan := call_gate_plan_hold(v_effective, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
    p_min_duration_seconds, v_max_seconds, p_policy, p_hold_seconds);
  if v_plan is null then
    if v_effective < v_available and call_gate_plan_hold(v_available, p_rate_per_minute, p_min_balance,
         p_safety_margin_seconds, p_min_duration_seconds, v_max_seconds, p_policy, p_hold_seconds) is not null then
      return jsonb_build_object('outcome', 'refused', 'reason', 'dailySpendLimit');
    end if;
    return jsonb_build_object('outcome', 'available', 'available', v_available);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                     hold_policy, hold_cap, held_seconds, admitted_at)
  values (p_call_id, p_org_id, v_plan[1], v_plan[2],
          v_now + make_interval(secs => v_plan[2] + p_hold_grace_seconds), 'database_fallback',
          p_policy, v_plan[3], v_plan[4], v_now)
  returning * into c;
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[1],
    'max_duration_seconds', v_plan[2], 'available', v_available - v_plan[1], 'hold', call_hold_json(c));
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_meter_renew: the Postgres side of a renewal (20261130000300) with the spend controls, at
-- the clock p_now (null = now()). After the state checks ('released', 'ended', 'already'):
--   frozen → {outcome: frozen}; capped as before; then, with `limit` named:
--   max_call_seconds: the hold never pays beyond it; at it → {outcome: limited, limit: maxCallSeconds}
--   max_concurrent_calls: a call with that many live calls admitted before it → limited
--   exhausted as before (the money first); then today's spend + live holds + the slice past
--   daily_spend_limit → limited dailySpendLimit. Every non-renewal ends the call (call-meter.ts).
-- ---------------------------------------------------------------------------------------------
drop function call_meter_renew(text, integer, bigint, bigint);
create function call_meter_renew(p_call_id text, p_slice_no integer, p_slice_amount bigint,
                                 p_rate_per_minute bigint, p_now timestamptz)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  w wallets%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_inc bigint;
  v_held bigint;
  v_available bigint;
  v_lim_cap bigint;
  v_limit text;
begin
  if p_rate_per_minute <= 0 or p_slice_amount < 0 or p_slice_no < 2 then
    raise exception 'call_meter_renew: bad arguments' using errcode = '22023';
  end if;
  select org_id into c.org_id from calls where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'missing');
  end if;
  select * into w from wallets where org_id = c.org_id for update;
  select * into c from calls where call_id = p_call_id for update;
  if c.hold_state <> 'held' or c.settled_at is not null then
    return jsonb_build_object('outcome', 'released');
  end if;
  if c.ended_at is not null then
    return jsonb_build_object('outcome', 'ended');
  end if;
  if c.slices >= p_slice_no then
    return jsonb_build_object('outcome', 'already', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if w.frozen then
    return jsonb_build_object('outcome', 'frozen', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if c.hold_amount >= coalesce(c.hold_cap, c.hold_amount) then
    return jsonb_build_object('outcome', 'capped', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  v_inc := least(p_slice_amount, c.hold_cap - c.hold_amount);
  if w.max_call_seconds is not null then
    v_lim_cap := (w.max_call_seconds::bigint * p_rate_per_minute + 59) / 60;
    if c.hold_amount >= v_lim_cap then
      v_limit := 'maxCallSeconds';
    end if;
    v_inc := least(v_inc, v_lim_cap - c.hold_amount);
  end if;
  if v_limit is null and w.max_concurrent_calls is not null and (
       select count(*) from calls o
        where o.org_id = c.org_id and o.hold_state = 'held' and o.ended_at is null
          and o.settled_at is null and o.hold_expires_at > v_now
          and (o.admitted_at, o.call_id) < (c.admitted_at, c.call_id)) >= w.max_concurrent_calls then
    v_limit := 'maxConcurrentCalls';
  end if;
  if v_limit is not null then
    return jsonb_build_object('outcome', 'limited', 'limit', v_limit, 'amount', c.hold_amount,
                              'held_seconds', c.held_seconds);
  end if;
  v_held := call_holds_sum(c.org_id, v_now);
  v_available := w.balance - v_held;
  if v_available < v_inc then
    return jsonb_build_object('outcome', 'exhausted', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if w.daily_spend_limit is not null and wallet_spent_on(w, v_now) + v_held + v_inc > w.daily_spend_limit then
    return jsonb_build_object('outcome', 'limited', 'limit', 'dailySpendLimit', 'amount', c.hold_amount,
                              'held_seconds', c.held_seconds);
  end if;
  update calls
     set hold_amount = hold_amount + v_inc, slices = p_slice_no,
         held_seconds = least(max_duration_seconds, ((hold_amount + v_inc) * 60) / p_rate_per_minute)
   where call_id = p_call_id
  returning * into c;
  return jsonb_build_object('outcome', 'renewed', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
end $$;

-- ---------------------------------------------------------------------------------------------
-- org_limits_get / org_limits_set: the operators' limits of one organisation.
-- set: replaces all four (null = none) under the wallet row lock and bumps wallets.version, so
--      the cached wallet hash (which carries them) is rewritten and never overwritten by an older
--      writer. Bounds are the columns' checks (22023/23514 on a violation: the API validates first).
-- Output:  {outcome: found, limits: {...}, balance, version, currency, controls} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
create or replace function org_limits_json(w wallets) returns jsonb
language sql immutable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object(
    'outcome', 'found', 'org_id', w.org_id,
    'limits', jsonb_build_object(
      'max_concurrent_calls', w.max_concurrent_calls, 'daily_spend_limit', w.daily_spend_limit,
      'max_call_seconds', w.max_call_seconds, 'max_numbers_per_day', w.max_numbers_per_day),
    'frozen', w.frozen, 'frozen_reason', w.frozen_reason,
    'balance', w.balance, 'version', w.version, 'currency', w.currency,
    'controls', wallet_controls_json(w))
$$;

create or replace function org_limits_get(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce((select org_limits_json(w) from wallets w where w.org_id = p_org_id),
                  jsonb_build_object('outcome', 'not_found'))
$$;

create or replace function org_limits_set(
  p_org_id uuid, p_max_concurrent_calls integer, p_daily_spend_limit bigint,
  p_max_call_seconds integer, p_max_numbers_per_day integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare w wallets%rowtype;
begin
  update wallets
     set max_concurrent_calls = p_max_concurrent_calls, daily_spend_limit = p_daily_spend_limit,
         max_call_seconds = p_max_call_seconds, max_numbers_per_day = p_max_numbers_per_day,
         version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return org_limits_json(w);
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_freeze / wallet_unfreeze (shared with money in): a frozen wallet admits no call, renews
-- none, buys no number. p_source says who: 'operator' or 'stripe_dispute'. The version is bumped so the cached hash follows at once.
-- Output:  org_limits_json + {outcome: frozen | already_frozen | unfrozen | not_frozen}
--          | {outcome: not_found}.
-- Effects: freeze keeps the first reason of an already frozen wallet (a second freeze changes
--          nothing). Replaced by 20261130001500, which adds the wallet.frozen / wallet.unfrozen
--          events and the operator's take-over of a dispute's freeze.
-- ---------------------------------------------------------------------------------------------
create or replace function wallet_freeze(p_org_id uuid, p_reason text, p_source text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare w wallets%rowtype;
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if w.frozen then
    return org_limits_json(w) || jsonb_build_object('outcome', 'already_frozen');
  end if;
  update wallets
     set frozen = true, frozen_reason = left(p_reason, 500), frozen_at = now(),
         frozen_source = left(p_source, 100), version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  return org_limits_json(w) || jsonb_build_object('outcome', 'frozen');
end $$;

create or replace function wallet_unfreeze(p_org_id uuid, p_source text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare w wallets%rowtype;
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if not w.frozen then
    return org_limits_json(w) || jsonb_build_object('outcome', 'not_frozen');
  end if;
  update wallets
     set frozen = false, frozen_reason = null, frozen_at = null, frozen_source = left(p_source, 100),
         version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  return org_limits_json(w) || jsonb_build_object('outcome', 'unfrozen');
end $$;

-- ---------------------------------------------------------------------------------------------
-- calls_live_for_org: the calls in progress of one organisation (admitted, neither ended nor
-- settled, unexpired), for ending them when the wallet is frozen. At most 10000.
-- Output:  {calls: [<call_hold_json>]}
-- ---------------------------------------------------------------------------------------------
create or replace function calls_live_for_org(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('calls', coalesce(jsonb_agg(call_hold_json(c)), '[]'::jsonb))
    from (select * from calls
           where org_id = p_org_id and hold_state = 'held' and ended_at is null
             and settled_at is null and hold_expires_at > now()
           order by admitted_at
           limit 10000) c
$$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20), as in the first migration.
-- ---------------------------------------------------------------------------------------------
revoke execute on function
  wallet_controls_json(wallets),
  wallet_spent_on(wallets, timestamptz),
  calls_live_count(uuid, timestamptz),
  wallet_purchase_refusal(wallets, bigint, timestamptz),
  org_limits_json(wallets),
  provision_request_refund_core(uuid),
  call_settle_core(text, bigint, integer, text)
from public, anon, authenticated, service_role;
revoke execute on function
  wallet_debit_for_purchase(uuid, bigint, text, text),
  provision_request_create(uuid, bigint, text, text, text, text, text, integer),
  provision_request_refund(uuid),
  call_settle(text, bigint, integer, text),
  wallet_get(uuid),
  call_gate_snapshot(uuid),
  call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer, text, integer, timestamptz),
  call_meter_renew(text, integer, bigint, bigint, timestamptz),
  org_limits_get(uuid),
  org_limits_set(uuid, integer, bigint, integer, integer),
  wallet_freeze(uuid, text, text),
  wallet_unfreeze(uuid, text),
  calls_live_for_org(uuid)
from public, anon, authenticated;
grant execute on function
  wallet_debit_for_purchase(uuid, bigint, text, text),
  provision_request_create(uuid, bigint, text, text, text, text, text, integer),
  provision_request_refund(uuid),
  call_settle(text, bigint, integer, text),
  wallet_get(uuid),
  call_gate_snapshot(uuid),
  call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer, text, integer, timestamptz),
  call_meter_renew(text, integer, bigint, bigint, timestamptz),
  org_limits_get(uuid),
  org_limits_set(uuid, integer, bigint, integer, integer),
  wallet_freeze(uuid, text, text),
  wallet_unfreeze(uuid, text),
  calls_live_for_org(uuid)
to service_role;
