-- Joins two changes made side by side (issue 11, money in: 20261130001100; issue 12, spend
-- controls: 20261130001200). Both replaced the same functions; the later file's versions won and
-- dropped the earlier file's hooks. These are the spend-controls versions with the money-in hooks
-- put back:
--   ledger_post        every movement runs the alert / auto-recharge watch (wallet_money_watch);
--   call_gate_admit    so does a hold placed on the Postgres path;
--   wallet_freeze / wallet_unfreeze   the wallet.frozen / wallet.unfrozen events (and, on unfreeze,
--                      the watch, so a recharge wanted while frozen may run), and the argument
--                      checks of the money-in version;
--   wallet_cache_json  what money-in's functions hand to the cache carries the spend controls, so
--                      a write-through from a Stripe event keeps the cached controls.
-- Grants are unchanged (create or replace keeps them).

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

  -- Money in (20261130001100): alerts and auto-recharge look at every movement.
  perform wallet_money_watch(p_org_id);
  return ledger_result('posted', e, w);
end $$;

create or replace function call_gate_admit(
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
  -- Money in: a hold lowers `available`, which alerts and auto-recharge watch.
  perform wallet_money_watch(p_org_id);
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[1],
    'max_duration_seconds', v_plan[2], 'available', v_available - v_plan[1], 'hold', call_hold_json(c));
end $$;

create or replace function wallet_freeze(p_org_id uuid, p_reason text, p_source text) returns jsonb
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
    -- An operator freezing a wallet a dispute froze takes the freeze over: the dispute's end must
    -- not lift it (stripe_reconcile_payment unfreezes only frozen_source = 'stripe_dispute').
    if p_source = 'operator' and w.frozen_source is distinct from 'operator' then
      update wallets
         set frozen_reason = left(p_reason, 500), frozen_source = 'operator', version = version + 1, updated_at = now()
       where org_id = p_org_id
      returning * into w;
    end if;
    return org_limits_json(w) || jsonb_build_object('outcome', 'already_frozen');
  end if;
  update wallets
     set frozen = true, frozen_reason = left(p_reason, 500), frozen_at = now(),
         frozen_source = left(p_source, 100), version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  perform wallet_event_emit(p_org_id, 'wallet.frozen', jsonb_build_object('reason', p_reason, 'source', p_source));
  return org_limits_json(w) || jsonb_build_object('outcome', 'frozen');
end $$;

create or replace function wallet_unfreeze(p_org_id uuid, p_source text) returns jsonb
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
    return org_limits_json(w) || jsonb_build_object('outcome', 'not_frozen');
  end if;
  update wallets
     set frozen = false, frozen_reason = null, frozen_at = null, frozen_source = left(p_source, 100),
         version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  perform wallet_event_emit(p_org_id, 'wallet.unfrozen', jsonb_build_object('source', p_source));
  -- A recharge wanted while frozen may run now.
  perform wallet_money_watch(p_org_id);
  return org_limits_json(w) || jsonb_build_object('outcome', 'unfrozen');
end $$;

create or replace function wallet_cache_json(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('balance', w.balance, 'version', w.version, 'currency', w.currency,
                            'frozen', w.frozen, 'controls', wallet_controls_json(w))
    from wallets w where w.org_id = p_org_id
$$;
