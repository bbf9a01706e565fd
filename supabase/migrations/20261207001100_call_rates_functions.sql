-- call_rates_functions: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: call_gate_admit, call_gate_admit_batch, call_gate_admit_many, call_gate_admit_plan, call_gate_plan_hold, call_hold_end, call_hold_json, call_holds_upsert, call_meter_renew, call_rate_cost, call_rate_match, call_rate_paid_seconds, call_rates_get, call_rates_put, call_settle_core, calls_due_for_sweep, org_dialing_get, org_dialing_set, outbound_call_admit, outbound_call_defer, outbound_call_failed, outbound_call_placed, outbound_calls_placing, phone_number_resolve.

drop function call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone);

drop function call_gate_admit_plan(wallets,bigint,timestamp with time zone,bigint,bigint,integer,integer,integer,text,integer);

drop function call_gate_plan_hold(bigint,bigint,bigint,integer,integer,integer,text,integer);

drop function call_meter_renew(text,integer,bigint,bigint,timestamp with time zone);

-- call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone,bigint,integer,integer,text)
--
-- (from 20261207001100_call_rates_functions)
-- The call's own rate (CONTRACT §10): p_rate_per_minute with p_connect_fee, p_minimum_seconds,
-- p_increment_seconds and p_rate_prefix (null: no row matched, the default rate) plan the hold and
-- are written on the calls row, where renewals, the "ended" resize and the charge read them.
--
-- call_gate_admit (as in 20261130001500_money_in_meets_spend_controls.sql), its plan now taken
-- from call_gate_admit_plan.
--
-- (from 20261201000700_admit_batch_one_insert)
-- call_gate_admit_many decides every element by call_gate_admit's own rules (the plan and spend
-- controls now in call_gate_admit_plan, which both call), in the same order (organisation, then
-- input order), but keeps the holds it grants in an array: a later element
-- of the same organisation counts them as call_gate_admit would count the rows (in `available`,
-- in maxConcurrentCalls, by expiry at its own `now`), and a later element with the same call id
-- answers `existing` from them. Then it writes them in one INSERT, and runs the money watch once
-- per organisation that took a hold, after all of them: a batch only lowers `available`, so the
-- watch sends the same alerts and asks for the same recharge as it did after each hold (the
-- outbox rows of one organisation may come in another order: alerts before the recharge).
-- `call_holds_sum` is read once per organisation and moment, not once per element (nothing is
-- written to `calls` until the end).
--
-- (from 20261201000700_admit_batch_one_insert)
-- Any element that raises (a malformed org id or time, a call id the CHECKs refuse, a call id a
-- concurrent transaction took) rolls the whole attempt back, and the batch is then decided as
-- before: call_gate_admit for each element in its own subtransaction, so that element alone fails.
-- An org id that is not a uuid is one of those (call_gate_org_key gives null; it sorts last and
-- fails alone there, before it locks anything).
-- test/calls/admit-batch.test.ts proves both ways answer as call_gate_admit alone (generated
-- batches, with and without elements that raise, money settings included) and that a clean batch
-- never calls call_gate_admit.
--
-- (from 20261201000700_admit_batch_one_insert)
-- What an admission can hold once its wallet is locked and its organisation's live holds are
-- summed (p_held): call_gate_admit's rules (spend controls, then call_gate_plan_hold), one copy
-- for both call_gate_admit and call_gate_admit_many. Returns {available, amount, seconds, cap,
-- held seconds} when a hold fits; {available, -1} when only dailySpendLimit stands in the way;
-- {available} when nothing fits.
--
-- (from 20261130001500_money_in_meets_spend_controls)
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
--
-- Defined in 20261123000400_call_gate_fast_path, 20261130000300_metered_holds, 20261130001100_money_in, 20261130001200_spend_controls, 20261130001500_money_in_meets_spend_controls, 20261201000700_admit_batch_one_insert (the last is current).
--
-- Called by: call_gate_admit_batch(), outbound_call_admit().
CREATE OR REPLACE FUNCTION public.call_gate_admit(p_org_id uuid, p_call_id text, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_now timestamp with time zone, p_connect_fee bigint DEFAULT 0, p_minimum_seconds integer DEFAULT 0, p_increment_seconds integer DEFAULT 1, p_rate_prefix text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  c calls%rowtype;
  w wallets%rowtype;
  v_now timestamptz := coalesce(p_now, now());
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
  v_plan := call_gate_admit_plan(w, call_holds_sum(p_org_id, v_now), v_now, p_rate_per_minute, p_min_balance,
    p_safety_margin_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds,
    p_connect_fee, p_minimum_seconds, p_increment_seconds);
  if cardinality(v_plan) = 2 then
    return jsonb_build_object('outcome', 'refused', 'reason', 'dailySpendLimit');
  elsif cardinality(v_plan) = 1 then
    return jsonb_build_object('outcome', 'available', 'available', v_plan[1]);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                     hold_policy, hold_cap, held_seconds, admitted_at, rate_prefix, rate_per_minute,
                     connect_fee, minimum_seconds, increment_seconds)
  values (p_call_id, p_org_id, v_plan[2], v_plan[3],
          v_now + make_interval(secs => v_plan[3] + p_hold_grace_seconds), 'database_fallback',
          p_policy, v_plan[4], v_plan[5], v_now, p_rate_prefix, p_rate_per_minute, p_connect_fee,
          p_minimum_seconds, p_increment_seconds)
  returning * into c;
  -- Money in: a hold lowers `available`, which alerts and auto-recharge watch.
  perform wallet_money_watch(p_org_id);
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[2],
    'max_duration_seconds', v_plan[3], 'available', v_plan[1] - v_plan[2], 'hold', call_hold_json(c));
end $function$;

-- call_gate_admit_batch(jsonb,bigint,bigint,integer,integer,integer,integer,text,integer)
--
-- (from 20261207001100_call_rates_functions)
-- Each element may carry its own rate (rate_per_minute, connect_fee, minimum_seconds,
-- increment_seconds, rate_prefix: the rate fixed at the call's admission, CONTRACT §10); an
-- element without one is planned at p_rate_per_minute, no connect fee, no minimum, increments of 1 s.
--
-- (from 20261201000700_admit_batch_one_insert)
-- call_gate_admit_batch (20261201000100) decides a batch with one INSERT instead of one per
-- admission. Found profiling benchmark b (issue 15; Redis down, every answer from Postgres): each
-- admission's INSERT built a new executor and with it the `calls` CHECKs from their stored node
-- trees, its indexes and its foreign-key trigger (`perf`: ExecConstraints 15% and ExecutorStart
-- 15% of Postgres's CPU; `auto_explain`: ≈ 235 µs of an admission's ≈ 370 in nested statements),
-- and ran the money watch, a function call that returns at once for most organisations.
--
-- (from 20261201000100_call_gate_admit_batch)
-- call_gate_admit_batch: several Postgres-path admissions (Redis down) in one transaction. On a
-- small VM about a third of each call_gate_admit's cost is its own transaction and round trip
-- (issue 15, benchmark b); the gate groups admissions that wait at the same moment and sends them
-- here together (shared/calls/call-gate.ts).
--
-- Defined in 20261201000100_call_gate_admit_batch, 20261201000700_admit_batch_one_insert (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_gate_admit_batch(p_calls jsonb, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  e record;
  v_out jsonb[];
  v_done boolean := false;
begin
  -- As call_gate_record_holds: PostgREST passes the array as JSON text inside a jsonb string,
  -- node-postgres as the array itself.
  if jsonb_typeof(p_calls) = 'string' then
    p_calls := (p_calls #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_calls) is distinct from 'array' or jsonb_array_length(p_calls) > 64 then
    raise exception 'call_gate_admit_batch: expected an array of at most 64 calls' using errcode = '22023';
  end if;
  -- The whole batch at once when nothing in it raises.
  begin
    v_out := call_gate_admit_many(p_calls, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
      p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds);
    v_done := true;
  exception when others then
    -- Rolled back whole, wallet locks included; decided again below, element by element.
    null;
  end;
  if v_done then
    return to_jsonb(v_out);
  end if;
  v_out := array_fill(null::jsonb, array[jsonb_array_length(p_calls)]);
  for e in
    select x.value as el, x.ordinality as idx, call_gate_org_key(x.value->>'org_id') as org_id
      from jsonb_array_elements(p_calls) with ordinality x
     order by 3 nulls last, x.ordinality
  loop
    begin
      v_out[e.idx] := call_gate_admit(
        coalesce(e.org_id, (e.el->>'org_id')::uuid), e.el->>'call_id',
        coalesce((e.el->>'rate_per_minute')::bigint, p_rate_per_minute), p_min_balance,
        p_safety_margin_seconds, p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds,
        p_policy, p_hold_seconds, (e.el->>'now')::timestamptz,
        coalesce((e.el->>'connect_fee')::bigint, 0), coalesce((e.el->>'minimum_seconds')::integer, 0),
        coalesce((e.el->>'increment_seconds')::integer, 1), e.el->>'rate_prefix');
    exception when others then
      v_out[e.idx] := jsonb_build_object('outcome', 'error', 'message', sqlerrm);
    end;
  end loop;
  return to_jsonb(v_out);
end $function$;

-- call_gate_admit_many(jsonb,bigint,bigint,integer,integer,integer,integer,text,integer)
--
-- (from 20261207001100_call_rates_functions)
-- Each element may carry its own rate (rate_per_minute, connect_fee, minimum_seconds,
-- increment_seconds, rate_prefix: the rate fixed at the call's admission, CONTRACT §10); an
-- element without one is planned at p_rate_per_minute, no connect fee, no minimum, increments of 1 s.
--
-- (from 20261201000700_admit_batch_one_insert)
-- call_gate_admit_many decides every element by call_gate_admit's own rules (the plan and spend
-- controls now in call_gate_admit_plan, which both call), in the same order (organisation, then
-- input order), but keeps the holds it grants in an array: a later element
-- of the same organisation counts them as call_gate_admit would count the rows (in `available`,
-- in maxConcurrentCalls, by expiry at its own `now`), and a later element with the same call id
-- answers `existing` from them. Then it writes them in one INSERT, and runs the money watch once
-- per organisation that took a hold, after all of them: a batch only lowers `available`, so the
-- watch sends the same alerts and asks for the same recharge as it did after each hold (the
-- outbox rows of one organisation may come in another order: alerts before the recharge).
-- `call_holds_sum` is read once per organisation and moment, not once per element (nothing is
-- written to `calls` until the end).
--
-- (from 20261201000700_admit_batch_one_insert)
-- What an admission can hold once its wallet is locked and its organisation's live holds are
-- summed (p_held): call_gate_admit's rules (spend controls, then call_gate_plan_hold), one copy
-- for both call_gate_admit and call_gate_admit_many. Returns {available, amount, seconds, cap,
-- held seconds} when a hold fits; {available, -1} when only dailySpendLimit stands in the way;
-- {available} when nothing fits.
--
-- Defined in 20261201000700_admit_batch_one_insert.
--
-- Called by: call_gate_admit_batch().
CREATE OR REPLACE FUNCTION public.call_gate_admit_many(p_calls jsonb, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer)
 RETURNS jsonb[]
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  e record;
  v_out jsonb[] := array_fill(null::jsonb, array[jsonb_array_length(p_calls)]);
  w wallets%rowtype;
  c calls%rowtype;
  r calls%rowtype;
  v_rows calls[] := '{}';        -- the holds granted, in decision order
  v_ids text[] := '{}';          -- their call ids
  v_orgs uuid[] := '{}';         -- organisations that took a hold, in decision (= org) order
  v_org uuid;                    -- the organisation whose wallet is in w
  v_found boolean := false;
  v_exists boolean;
  v_now timestamptz;
  v_sum_at timestamptz;          -- call_holds_sum(v_org, v_sum_at) = v_table_held
  v_table_held bigint;
  v_p_amounts bigint[];          -- the holds granted to v_org in this batch
  v_p_expires timestamptz[];
  v_p_sum bigint;
  v_p_min_expiry timestamptz;
  v_p_held bigint;
  v_p_live bigint;
  v_i integer;
  v_plan bigint[];
  v_rate bigint;
  v_fee bigint;
  v_min integer;
  v_inc integer;
begin
  for e in
    select x.value as el, x.ordinality as idx, call_gate_org_key(x.value->>'org_id') as org_id
      from jsonb_array_elements(p_calls) with ordinality x
     order by 3 nulls last, x.ordinality
  loop
    if e.org_id is null then
      raise exception 'call_gate_admit_many: org id % is not a uuid', e.el->>'org_id' using errcode = '22023';
    end if;
    -- call_gate_admit's arguments: a time that is not one raises here.
    v_now := coalesce((e.el->>'now')::timestamptz, now());
    if v_org is distinct from e.org_id then
      v_org := e.org_id;
      select * into w from wallets where org_id = v_org for update;
      v_found := found;
      v_sum_at := null;
      v_p_amounts := '{}';
      v_p_expires := '{}';
      v_p_sum := 0;
      v_p_min_expiry := null;
    end if;
    if not v_found then
      v_out[e.idx] := jsonb_build_object('outcome', 'not_found');
      continue;
    end if;
    -- This call's row, or the hold granted to it earlier in this batch.
    select * into c from calls where call_id = e.el->>'call_id';
    v_exists := found;
    if not v_exists then
      v_i := array_position(v_ids, e.el->>'call_id');
      if v_i is not null then
        c := v_rows[v_i];
        v_exists := true;
      end if;
    end if;
    if v_exists then
      v_out[e.idx] := jsonb_build_object('outcome', 'existing', 'hold_amount', c.hold_amount,
        'max_duration_seconds', c.max_duration_seconds, 'hold_state', c.hold_state);
      continue;
    end if;
    if w.frozen then
      v_out[e.idx] := jsonb_build_object('outcome', 'refused', 'reason', 'wallet_frozen');
      continue;
    end if;
    -- The holds granted to this organisation so far count as their rows would, while unexpired
    -- at this element's moment (usually all of them: one running sum).
    if v_p_min_expiry is null or v_p_min_expiry > v_now then
      v_p_held := v_p_sum;
      v_p_live := cardinality(v_p_amounts);
    else
      select coalesce(sum(a), 0), count(*) into v_p_held, v_p_live
        from unnest(v_p_amounts, v_p_expires) p(a, x) where x > v_now;
    end if;
    if w.max_concurrent_calls is not null and calls_live_count(v_org, v_now) + v_p_live >= w.max_concurrent_calls then
      v_out[e.idx] := jsonb_build_object('outcome', 'refused', 'reason', 'maxConcurrentCalls');
      continue;
    end if;
    if v_sum_at is distinct from v_now then
      v_table_held := call_holds_sum(v_org, v_now);
      v_sum_at := v_now;
    end if;
    v_rate := coalesce((e.el->>'rate_per_minute')::bigint, p_rate_per_minute);
    v_fee := coalesce((e.el->>'connect_fee')::bigint, 0);
    v_min := coalesce((e.el->>'minimum_seconds')::integer, 0);
    v_inc := coalesce((e.el->>'increment_seconds')::integer, 1);
    v_plan := call_gate_admit_plan(w, v_table_held + v_p_held, v_now, v_rate, p_min_balance,
      p_safety_margin_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds,
      v_fee, v_min, v_inc);
    if cardinality(v_plan) = 2 then
      v_out[e.idx] := jsonb_build_object('outcome', 'refused', 'reason', 'dailySpendLimit');
      continue;
    elsif cardinality(v_plan) = 1 then
      v_out[e.idx] := jsonb_build_object('outcome', 'available', 'available', v_plan[1]);
      continue;
    end if;
    -- The row call_gate_admit inserts, with the columns' defaults as the INSERT below gives them.
    r := null;
    r.call_id := e.el->>'call_id';
    r.org_id := v_org;
    r.hold_state := 'held';
    r.hold_amount := v_plan[2];
    r.max_duration_seconds := v_plan[3];
    r.hold_expires_at := v_now + make_interval(secs => v_plan[3] + p_hold_grace_seconds);
    r.admitted_path := 'database_fallback';
    r.hold_policy := p_policy;
    r.hold_cap := v_plan[4];
    r.held_seconds := v_plan[5];
    r.admitted_at := v_now;
    r.slices := 1;
    r.sweep_deferrals := 0;
    r.created_at := now();
    r.rate_prefix := e.el->>'rate_prefix';
    r.rate_per_minute := v_rate;
    r.connect_fee := v_fee;
    r.minimum_seconds := v_min;
    r.increment_seconds := v_inc;
    v_rows := v_rows || r;
    v_ids := v_ids || r.call_id;
    v_p_amounts := v_p_amounts || r.hold_amount;
    v_p_expires := v_p_expires || r.hold_expires_at;
    v_p_sum := v_p_sum + r.hold_amount;
    v_p_min_expiry := least(v_p_min_expiry, r.hold_expires_at);
    if v_orgs[cardinality(v_orgs)] is distinct from v_org then
      v_orgs := v_orgs || v_org;
    end if;
    v_out[e.idx] := jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[2],
      'max_duration_seconds', v_plan[3], 'available', v_plan[1] - v_plan[2], 'hold', call_hold_json(r));
  end loop;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                     hold_policy, hold_cap, held_seconds, admitted_at, rate_prefix, rate_per_minute,
                     connect_fee, minimum_seconds, increment_seconds)
  select u.call_id, u.org_id, u.hold_amount, u.max_duration_seconds, u.hold_expires_at, u.admitted_path,
         u.hold_policy, u.hold_cap, u.held_seconds, u.admitted_at, u.rate_prefix, u.rate_per_minute,
         u.connect_fee, u.minimum_seconds, u.increment_seconds
    from unnest(v_rows) with ordinality u
   order by u.ordinality;
  -- Money in: these holds lowered `available`, which alerts and auto-recharge watch (wallets are
  -- locked already, settings after them, in organisation order, as call_gate_record_holds does).
  foreach v_org in array v_orgs loop
    perform wallet_money_watch(v_org);
  end loop;
  return v_out;
end $function$;

-- call_gate_admit_plan(wallets,bigint,timestamp with time zone,bigint,bigint,integer,integer,integer,text,integer,bigint,integer,integer)
--
-- (from 20261207001100_call_rates_functions)
-- Plans at the call's own rate: its connect fee, minimum and increments go to call_gate_plan_hold.
--
-- What an admission can hold once its wallet is locked and its organisation's live holds are
-- summed (p_held): call_gate_admit's rules (spend controls, then call_gate_plan_hold), one copy
-- for both call_gate_admit and call_gate_admit_many. Returns {available, amount, seconds, cap,
-- held seconds} when a hold fits; {available, -1} when only dailySpendLimit stands in the way;
-- {available} when nothing fits.
--
-- (from 20261201000700_admit_batch_one_insert)
-- call_gate_admit_many decides every element by call_gate_admit's own rules (the plan and spend
-- controls now in call_gate_admit_plan, which both call), in the same order (organisation, then
-- input order), but keeps the holds it grants in an array: a later element
-- of the same organisation counts them as call_gate_admit would count the rows (in `available`,
-- in maxConcurrentCalls, by expiry at its own `now`), and a later element with the same call id
-- answers `existing` from them. Then it writes them in one INSERT, and runs the money watch once
-- per organisation that took a hold, after all of them: a batch only lowers `available`, so the
-- watch sends the same alerts and asks for the same recharge as it did after each hold (the
-- outbox rows of one organisation may come in another order: alerts before the recharge).
-- `call_holds_sum` is read once per organisation and moment, not once per element (nothing is
-- written to `calls` until the end).
--
-- Defined in 20261201000700_admit_batch_one_insert.
--
-- Called by: call_gate_admit(), call_gate_admit_many().
CREATE OR REPLACE FUNCTION public.call_gate_admit_plan(w wallets, p_held bigint, p_now timestamp with time zone, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_connect_fee bigint DEFAULT 0, p_minimum_seconds integer DEFAULT 0, p_increment_seconds integer DEFAULT 1)
 RETURNS bigint[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_available bigint := w.balance - p_held;
  v_effective bigint := w.balance - p_held;
  v_max_seconds integer := p_max_duration_seconds;
  v_plan bigint[];
begin
  if w.daily_spend_limit is not null then
    v_effective := least(v_available, w.daily_spend_limit - wallet_spent_on(w, p_now) - p_held);
  end if;
  if w.max_call_seconds is not null then
    v_max_seconds := least(v_max_seconds, w.max_call_seconds);
  end if;
  v_plan := call_gate_plan_hold(v_effective, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
    p_min_duration_seconds, v_max_seconds, p_policy, p_hold_seconds, p_connect_fee, p_minimum_seconds, p_increment_seconds);
  if v_plan is not null then
    return array[v_available] || v_plan;
  end if;
  if v_effective < v_available and call_gate_plan_hold(v_available, p_rate_per_minute, p_min_balance,
       p_safety_margin_seconds, p_min_duration_seconds, v_max_seconds, p_policy, p_hold_seconds, p_connect_fee,
       p_minimum_seconds, p_increment_seconds) is not null then
    return array[v_available, -1];
  end if;
  return array[v_available];
end $function$;

-- call_gate_plan_hold(bigint,bigint,bigint,integer,integer,integer,text,integer,bigint,integer,integer)
--
-- (from 20261207001100_call_rates_functions)
-- The call's own rate (CONTRACT §10): every cost is call_rate_cost (connect fee, minimum,
-- increments) and every duration call_rate_paid_seconds, so maxDurationSeconds is what
-- `available` pays for at the call's rate, less the margin. With the default rate (no fee, no
-- minimum, increments of 1 s) the plan is exactly the one before.
--
-- ---------------------------------------------------------------------------------------------
-- call_gate_plan_hold: the hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, in
-- exact integer arithmetic, so that the fallback decides in one call. Not a second source of
-- prices: every price comes in as an argument from Config.pricing, and test/calls proves the
-- result equal to planHold() for many inputs.
-- Inputs:  available, rate per minute, CALL_MIN_BALANCE, safety margin (s), Vapi's duration bounds (s).
-- Output:  array[amount, max_duration_seconds], or null when the call must be refused.
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
--
-- (from 20261130000300_metered_holds)
-- ---------------------------------------------------------------------------------------------
-- call_gate_plan_hold: the hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, in
-- exact integer arithmetic. Every price comes in as an argument from Config.pricing; test/calls
-- proves the result equal to planHold() for many inputs.
-- Inputs:  available, rate per minute, CALL_MIN_BALANCE, safety margin (s), Vapi's duration
--          bounds (s), policy ('metered' | 'full'), CALL_HOLD_SECONDS.
-- Output:  array[amount, max_duration_seconds, cap, held_seconds], or null when refused.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000400_call_gate_fast_path, 20261130000300_metered_holds (the last is current).
--
-- Called by: call_gate_admit_plan(), outbound_call_admit().
CREATE OR REPLACE FUNCTION public.call_gate_plan_hold(p_available bigint, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_connect_fee bigint DEFAULT 0, p_minimum_seconds integer DEFAULT 0, p_increment_seconds integer DEFAULT 1)
 RETURNS bigint[]
 LANGUAGE plpgsql
 IMMUTABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_seconds bigint;
  v_cap bigint;
  v_amount bigint;
begin
  if p_rate_per_minute <= 0 then
    raise exception 'call_gate_plan_hold: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_policy not in ('metered', 'full') then
    raise exception 'call_gate_plan_hold: unknown policy %', p_policy using errcode = '22023';
  end if;
  if p_available < p_min_balance then
    return null;
  end if;
  v_seconds := least(p_max_duration_seconds::bigint, greatest(p_min_duration_seconds::bigint,
                 call_rate_paid_seconds(greatest(p_available, 0), p_rate_per_minute, p_connect_fee,
                   p_minimum_seconds, p_increment_seconds) - p_safety_margin_seconds));
  v_cap := call_rate_cost(v_seconds, p_rate_per_minute, p_connect_fee, p_minimum_seconds, p_increment_seconds);
  v_amount := v_cap;
  if p_policy = 'metered' then
    v_amount := least(call_rate_cost(p_hold_seconds, p_rate_per_minute, p_connect_fee, p_minimum_seconds,
                        p_increment_seconds), v_cap);
  end if;
  v_amount := greatest(v_amount, p_min_balance);
  if v_amount > p_available then
    return null;
  end if;
  return array[v_amount, v_seconds, v_cap, least(v_seconds, call_rate_paid_seconds(v_amount, p_rate_per_minute,
    p_connect_fee, p_minimum_seconds, p_increment_seconds))];
end $function$;

-- call_hold_end(text,bigint,integer,jsonb)
--
-- (from 20261207001100_call_rates_functions)
-- The time used is costed at the call's own rate (call_rate_cost over its calls row's rate; null:
-- p_rate_per_minute with no fee, no minimum, increments of 1 s).
--
-- ---------------------------------------------------------------------------------------------
-- call_hold_end: the call's status-update "ended" in Postgres: the hold becomes the cost of the
-- time from admission, bounded by (max duration + grace), at least 1 — it counts until the
-- charge replaces it (call_settle). When Postgres has no row yet (the batched record is still on
-- its way, or failed), p_hold (Redis's view of the call, as call_gate_record_holds takes it)
-- creates it, ended, so the sweeper can find it.
-- A settled call is left as it is ('settled'): an "ended" after the call's charge changes no
-- hold. When its row is missing and its report is already billed, p_hold writes the row settled
-- (call_holds_upsert), so that too answers 'settled' and holds nothing.
-- Output:  {outcome: ended | already | settled, org_id, amount} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
--
-- (from 20261201000200_record_holds_by_key)
-- call_gate_record_holds (as in 20261130001600_holds_watch_money.sql) and call_hold_end (as in
-- 20261130000300_metered_holds.sql), with their lookups by organisation id made index lookups.
-- Both compared `org_id::text` with an id from their JSON input, so that a malformed id could not
-- fail the whole call; but a cast column cannot use the primary key, so every hold batch (one per
-- 5 ms under load, issue 15) read every wallet and every organisation, and every call's "ended"
-- every wallet: O(organisations) each, found while profiling the cache path's Postgres time.
-- call_gate_org_key (20261201000100) gives a malformed id null (it still fails only its own hold,
-- in the loop below) and a well-formed one its uuid; `= any (array(…))` is one index probe per id
-- (an IN over the function's rows let the planner join against a whole scan). Nothing else changes.
--
-- Defined in 20261130000300_metered_holds, 20261201000200_record_holds_by_key (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_hold_end(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_hold jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  c calls%rowtype;
  v_ms bigint;
begin
  if jsonb_typeof(p_hold) = 'string' then
    p_hold := (p_hold #>> '{}')::jsonb;  -- as call_gate_record_holds: PostgREST passes JSON text
  end if;
  -- The wallet row first, as every money function locks it (then the call's row): the
  -- organisation is the call's, else the one Redis's view names.
  perform 1 from wallets
   where org_id = coalesce((select org_id from calls where call_id = p_call_id), call_gate_org_key(p_hold->>'org_id'))
     for no key update;
  select * into c from calls where call_id = p_call_id for update;
  if not found and p_hold is not null and jsonb_typeof(p_hold) = 'object' then
    perform call_gate_record_holds(jsonb_build_array(p_hold));
    select * into c from calls where call_id = p_call_id for update;
  end if;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if c.settled_at is not null then
    return jsonb_build_object('outcome', 'settled', 'org_id', c.org_id, 'amount', 0);
  end if;
  if c.ended_at is not null then
    return jsonb_build_object('outcome', 'already', 'org_id', c.org_id, 'amount', c.hold_amount);
  end if;
  v_ms := least(greatest(0, (extract(epoch from (now() - c.admitted_at)) * 1000)::bigint),
                (c.max_duration_seconds + p_grace_seconds)::bigint * 1000);
  update calls
     set ended_at = coalesce(ended_at, now()),
         hold_amount = greatest(1, call_rate_cost(v_ms::numeric / 1000, coalesce(rate_per_minute, p_rate_per_minute),
                                                  coalesce(connect_fee, 0), coalesce(minimum_seconds, 0),
                                                  coalesce(increment_seconds, 1)))
   where call_id = p_call_id
  returning * into c;
  return jsonb_build_object('outcome', 'ended', 'org_id', c.org_id, 'amount', c.hold_amount);
end $function$;

-- call_hold_json(calls)
--
-- (from 20261207001100_call_rates_functions)
-- Carries the call's rate (null fields: the default rate), which the Redis entry keeps beside it.
--
-- The shape both the snapshot and the admission report a hold in (internal).
--
-- (from 20261201000400_hot_helpers_in_plpgsql)
-- Why (issue 15, benchmark b): a `language sql` function that is security definer (or has a SET
-- clause) is never inlined, and each call from plpgsql parses, analyses and plans its body again.
-- `perf` over Postgres during bench b put 31% of its CPU under fmgr_sql (parser, planner,
-- stringToNode), almost all of it call_holds_sum and call_hold_json, called once per admission.
-- plpgsql prepares each statement once per session and reuses the plan. pgbench, batches of 30
-- admissions over 135 live holds per organisation: 6.37 ms → 5.44 (call_holds_sum) → 4.45 ms
-- (call_hold_json). calls_live_count and wallet_spent_on run on the same path when an organisation
-- has maxConcurrentCalls or dailySpendLimit set, so they change too.
-- test/calls/hot-helpers.test.ts keeps them out of `language sql`.
--
-- Defined in 20261130000300_metered_holds, 20261201000400_hot_helpers_in_plpgsql (the last is current).
--
-- Called by: call_gate_admit(), call_gate_admit_many(), call_gate_snapshot(), call_meter_get(), calls_live_for_org(), calls_open_meters().
CREATE OR REPLACE FUNCTION public.call_hold_json(c calls)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return jsonb_build_object(
    'call_id', c.call_id,
    'state', case when c.ended_at is null then 'held' else 'ended' end,
    'amount', c.hold_amount,
    'max_duration_seconds', c.max_duration_seconds,
    'expires_at_ms', (extract(epoch from c.hold_expires_at) * 1000)::bigint,
    'admitted_at_ms', (extract(epoch from c.admitted_at) * 1000)::bigint,
    'cap', coalesce(c.hold_cap, c.hold_amount),
    'slices', c.slices,
    'rate_prefix', c.rate_prefix,
    'rate_per_minute', c.rate_per_minute,
    'connect_fee', c.connect_fee,
    'minimum_seconds', c.minimum_seconds,
    'increment_seconds', c.increment_seconds);
end $function$;

-- call_holds_upsert(jsonb)
--
-- (from 20261206203711_settled_holds_released)
-- A hold's record can reach Postgres after the call's report was billed: the gate's batch waits up
-- to 20 ms and a report can be quicker, a failed batch is written again by a renewal, and an
-- "ended" writes Redis's view when Postgres has no row. call_settle found no row to settle then,
-- and the record inserted a live hold for a call already charged: it counted in `available` (and
-- an "ended" sized it to a pence or two) until it expired, hours later. A call whose report is
-- billed is now inserted settled, as call_settle would have left it (released, settled_at and
-- charge_entry_id from the report, settled_by from the report's source), with hot_released_at
-- null so that the call sweeper confirms its Redis copy is released too. One more primary-key
-- probe per hold (call_reports), as for the organisation.
--
-- call_gate_record_holds and call_holds_upsert (as in 20261201000500_record_holds_in_one_statement.sql)
-- with two changes to how their statements read `calls` and `organizations`, found with
-- auto_explain during benchmark a (issue 15; batches of ≈ 60 holds every 20 ms):
--
-- 1. The count of rejected holds (holds that left no row) looked up every hold of the batch in
--    `calls` with a NOT EXISTS. plpgsql caches that plan per connection; made while `calls` held
--    a few hundred rows it was a hash anti-join over a sequential scan of `calls`, and it stayed so
--    while the table grew: every batch then read and hashed every call ever recorded (10 ms of a
--    15 ms batch after 40 s of bench load; `perf`: MultiExecHash, a third of Postgres's CPU on the
--    cache path). Written as one probe per hold, a plan cached early is a sequential scan per hold
--    instead, which is worse. Now call_holds_upsert itself names the holds it rejects: those it
--    skipped for want of an organisation whose call has no row either (a replay has nothing new to
--    write). Only skipped holds, usually none, are looked up, so a clean batch reads `calls` only
--    through the insert's own unique index; both ways of writing a batch take the rejections from
--    its answer.
-- 2. In call_holds_upsert the organisation probe ran twice per hold (the subquery was pulled up
--    into both the select list and the filter); a materialised CTE runs it once.
--
-- Results are unchanged (test/calls/record-holds-batch.test.ts compares both ways of writing a
-- batch; test/calls/record-holds-plan.test.ts proves the reads stay per hold).
--
-- (from 20261201000500_record_holds_in_one_statement)
-- The same results either way, hold for hold: call_holds_upsert writes the whole batch or raises
-- (a cast, a CHECK); when it raises, or when a call id appears twice in the batch, the batch is
-- written one hold at a time through the same statement, each in its own subtransaction, as
-- before, so a bad hold is rejected alone. A hold whose organisation does not exist writes nothing
-- and is rejected unless its call already has a row (a replay: nothing new to write). One change:
-- an org id that is not a uuid is now treated exactly so too (before, its cast raised, so it was
-- rejected even when its call had a row). test/calls/record-holds-batch.test.ts compares the two
-- ways on generated batches; test/money-in/alerts.test.ts fails if the watch is skipped.
--
-- Defined in 20261201000500_record_holds_in_one_statement, 20261201000600_record_holds_probe_by_key, 20261206203711_settled_holds_released (the last is current).
--
-- Called by: call_gate_record_holds().
--
-- (from 20261207001100_call_rates_functions)
-- Writes the rate fixed at the call's admission (a hold's rate_per_minute, connect_fee,
-- minimum_seconds, increment_seconds, rate_prefix; absent: null, the default rate).
CREATE OR REPLACE FUNCTION public.call_holds_upsert(p_holds jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_recorded integer;
  v_updated integer;
  v_rejected jsonb;
begin
  -- A scalar subquery per hold (one primary-key probe each): as a join the planner may read
  -- every organisation instead (20261201000200). Materialised, so the probe runs once per hold
  -- (pulled up, it ran for `org` and again for the filter) and the rejected holds can be named.
  -- The call's billed report, if any (one primary-key probe per hold): a hold recorded after its
  -- call was charged is written settled, never as a live hold of a call already paid for.
  with src as materialized (
    select x.el, x.i, (select o.id from organizations o where o.id = call_gate_org_key(x.el->>'org_id')) as org,
           (select r from call_reports r where r.call_id = x.el->>'call_id' and r.billed_at is not null) as billed
      from jsonb_array_elements(p_holds) with ordinality x(el, i)
  ), written as (
    insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                       hold_policy, admitted_at, hold_cap, held_seconds, slices, ended_at,
                       hold_state, released_at, release_cause, settled_at, settled_by, charge_entry_id,
                       rate_prefix, rate_per_minute, connect_fee, minimum_seconds, increment_seconds)
    select el->>'call_id', org, (el->>'amount')::bigint, (el->>'max_duration_seconds')::integer,
           to_timestamp((el->>'expires_at_ms')::bigint / 1000.0), 'cache',
           coalesce(el->>'policy', 'full'), to_timestamp((el->>'admitted_at_ms')::bigint / 1000.0),
           (el->>'cap')::bigint, (el->>'held_seconds')::integer, coalesce((el->>'slices')::integer, 1),
           to_timestamp((el->>'ended_at_ms')::bigint / 1000.0),
           case when billed is null then 'held' else 'released' end,
           (billed).billed_at, case when billed is null then null else 'billed' end, (billed).billed_at,
           case when billed is null then null when (billed).source = 'vapi_api' then 'sweeper' else 'report' end,
           (billed).charge_entry_id,
           el->>'rate_prefix', (el->>'rate_per_minute')::bigint, (el->>'connect_fee')::bigint,
           (el->>'minimum_seconds')::integer, (el->>'increment_seconds')::integer
      from src
     where org is not null
     order by i
    on conflict (call_id) do update
       set hold_amount = excluded.hold_amount, slices = excluded.slices,
           held_seconds = coalesce(excluded.held_seconds, calls.held_seconds),
           ended_at = coalesce(calls.ended_at, excluded.ended_at)
     where calls.settled_at is null
       and (excluded.slices > calls.slices or (calls.ended_at is null and excluded.ended_at is not null))
    returning (xmax = 0) as is_new)
  select (select count(*) filter (where is_new) from written), (select count(*) filter (where not is_new) from written),
         -- Rejected: no organisation, and no row to leave as it is (the statement's snapshot: no
         -- hold written here shares its call id, the caller sees to that).
         (select coalesce(jsonb_agg(el->'call_id' order by i), '[]'::jsonb) from src
           where org is null and not exists (select 1 from calls c where c.call_id = src.el->>'call_id'))
    into v_recorded, v_updated, v_rejected;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected);
end $function$;

-- call_meter_renew(text,integer,bigint,bigint,timestamp with time zone,integer)
--
-- (from 20261207001100_call_rates_functions)
-- At the call's own rate (its calls row; null: p_rate_per_minute, no fee, no minimum, 1 s): the
-- slice is the cost of p_slice_seconds (CALL_HOLD_SECONDS) at that rate without the connect fee
-- (the first slice paid it), else p_slice_amount when no seconds are given; maxCallSeconds'
-- cap is the cost of those seconds at the call's rate, and held_seconds what the hold pays for.
--
-- ---------------------------------------------------------------------------------------------
-- call_meter_renew: the Postgres side of a renewal (Redis unavailable): grants slice p_slice_no
-- of a live metered call if the wallet covers it. Same outcomes as the Lua call_meter_renew.
-- Output:  {outcome: renewed|already|capped|exhausted, amount, held_seconds} | {outcome: ended|released|missing}
-- ---------------------------------------------------------------------------------------------
--
-- (from 20261130001600_holds_watch_money)
-- Holds placed or grown on the Redis path lower `available` too (CONTRACT §7: a threshold is
-- crossed "through any charge, purchase or hold"). Money in (20261130001100) watched every ledger
-- movement and the Postgres-path admission; a Redis-path hold reaches Postgres through
-- call_gate_record_holds (the gate's batch, a few milliseconds after the answer, and every renewal's
-- copy), and a Postgres-path renewal through call_meter_renew. Both now run the same watch, so a
-- balance.low alert or an auto-recharge follows a hold within one batch, not at the call's charge.
--
-- Defined in 20261130000300_metered_holds, 20261130001200_spend_controls, 20261130001600_holds_watch_money (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_meter_renew(p_call_id text, p_slice_no integer, p_slice_amount bigint, p_rate_per_minute bigint, p_now timestamp with time zone, p_slice_seconds integer DEFAULT NULL::integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  c calls%rowtype;
  w wallets%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_inc bigint;
  v_held bigint;
  v_available bigint;
  v_lim_cap bigint;
  v_limit text;
  v_rate bigint;
  v_fee bigint;
  v_min integer;
  v_step integer;
  v_slice bigint;
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
  if not found then
    -- Taken back (call_gate_cancel_hold) while this renewal waited for the wallet.
    return jsonb_build_object('outcome', 'missing');
  end if;
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
  v_rate := coalesce(c.rate_per_minute, p_rate_per_minute);
  v_fee := coalesce(c.connect_fee, 0);
  v_min := coalesce(c.minimum_seconds, 0);
  v_step := coalesce(c.increment_seconds, 1);
  v_slice := p_slice_amount;
  if p_slice_seconds is not null then
    v_slice := call_rate_cost(p_slice_seconds, v_rate, 0, 0, v_step);
  end if;
  if c.hold_amount >= coalesce(c.hold_cap, c.hold_amount) then
    return jsonb_build_object('outcome', 'capped', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  v_inc := least(v_slice, c.hold_cap - c.hold_amount);
  if w.max_call_seconds is not null then
    v_lim_cap := call_rate_cost(w.max_call_seconds, v_rate, v_fee, v_min, v_step);
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
         held_seconds = least(max_duration_seconds, call_rate_paid_seconds(hold_amount + v_inc, v_rate, v_fee, v_min, v_step))
   where call_id = p_call_id
  returning * into c;
  -- Money in: the grown hold lowers `available`, which alerts and auto-recharge watch.
  perform wallet_money_watch(c.org_id);
  return jsonb_build_object('outcome', 'renewed', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
end $function$;

-- call_rate_cost(numeric,bigint,bigint,integer,integer)
--
-- ---------------------------------------------------------------------------------------------
-- call_rate_cost: what `seconds` of a call cost at one rate (CONTRACT §10), the one formula of
-- every charge, hold and cap in SQL (shared/pricing.ts callCost and includes/call-rate.lua are its
-- copies, proven equal by test/calls/hold-plan-parity.test.ts).
-- Inputs:  seconds (exact: numeric, from milliseconds), rate per minute, connect fee, minimum
--          seconds, increment seconds.
-- Output:  0 for zero (or negative) seconds: a call that never ran costs nothing; otherwise
--          connectFee + ceil(billable × ratePerMinute ÷ 60), billable = the seconds raised to
--          the minimum and then, when the increment is over 1 s, up to a whole number of
--          increments. Increments of 1 s keep CONTRACT §4.2's exact per-second charge (10.001 s
--          at 56/min is ceil(9.334…) = 10). Rounded once, in exact numeric arithmetic.
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: call_gate_plan_hold(), call_meter_renew(), call_hold_end(), call_settle_core(),
-- outbound_call_admit().
CREATE OR REPLACE FUNCTION public.call_rate_cost(p_seconds numeric, p_rate_per_minute bigint, p_connect_fee bigint, p_minimum_seconds integer, p_increment_seconds integer)
 RETURNS bigint
 LANGUAGE plpgsql
 IMMUTABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_billable numeric;
begin
  if p_rate_per_minute is null or p_rate_per_minute <= 0 or p_connect_fee < 0 or p_minimum_seconds < 0
     or p_increment_seconds < 1 then
    raise exception 'call_rate_cost: bad rate (%, %, %, %)', p_rate_per_minute, p_connect_fee,
      p_minimum_seconds, p_increment_seconds using errcode = '22023';
  end if;
  if p_seconds is null or p_seconds <= 0 then
    return 0;
  end if;
  v_billable := greatest(p_seconds, p_minimum_seconds::numeric);
  if p_increment_seconds > 1 then
    v_billable := ceil(v_billable / p_increment_seconds) * p_increment_seconds;
  end if;
  return p_connect_fee + ceil(v_billable * p_rate_per_minute / 60)::bigint;
end $function$;

-- call_rate_match(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_rate_match: the row of call_rates whose prefix is the longest prefix of an E.164 number
-- (one primary-key probe per prefix length), or null when none matches (the caller then uses
-- CALL_RATE_PER_MINUTE, no connect fee, increments of 1 s).
-- Inputs:  an E.164 number.
-- Output:  {prefix, rate_per_minute, connect_fee, minimum_seconds, increment_seconds, blocked}
--          | null.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: phone_number_resolve(), outbound_call_admit(), shared/calls/call-rates.ts.
CREATE OR REPLACE FUNCTION public.call_rate_match(p_number text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('prefix', r.prefix, 'rate_per_minute', r.rate_per_minute,
                            'connect_fee', r.connect_fee, 'minimum_seconds', r.minimum_seconds,
                            'increment_seconds', r.increment_seconds, 'blocked', r.blocked)
    from call_rates r
   where p_number is not null
     and r.prefix = any (array(select left(p_number, i) from generate_series(2, least(length(p_number), 16)) i))
   order by length(r.prefix) desc
   limit 1
$function$;

-- call_rate_paid_seconds(bigint,bigint,bigint,integer,integer)
--
-- ---------------------------------------------------------------------------------------------
-- call_rate_paid_seconds: the whole seconds of call an amount pays for at one rate — the largest
-- s with call_rate_cost(s) ≤ amount (0 when it cannot pay the connect fee and the minimum). The
-- inverse of call_rate_cost, as pricing.ts secondsPaid and includes/call-rate.lua paid().
-- Inputs:  amount, rate per minute, connect fee, minimum seconds, increment seconds.
-- Output:  seconds (bigint >= 0).
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: call_gate_plan_hold(), call_meter_renew().
CREATE OR REPLACE FUNCTION public.call_rate_paid_seconds(p_amount bigint, p_rate_per_minute bigint, p_connect_fee bigint, p_minimum_seconds integer, p_increment_seconds integer)
 RETURNS bigint
 LANGUAGE plpgsql
 IMMUTABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_seconds bigint;
begin
  if p_rate_per_minute is null or p_rate_per_minute <= 0 then
    raise exception 'call_rate_paid_seconds: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_amount - p_connect_fee < 0 then
    return 0;
  end if;
  v_seconds := ((p_amount - p_connect_fee) * 60) / p_rate_per_minute;
  if p_increment_seconds > 1 then
    v_seconds := (v_seconds / p_increment_seconds) * p_increment_seconds;
  end if;
  if v_seconds < p_minimum_seconds then
    return 0;
  end if;
  return v_seconds;
end $function$;

-- call_rates_get()
--
-- The whole rate table, by prefix (GET /api/admin/rates; the in-process rate cache).
-- Output: {rates: [{prefix, rate_per_minute, connect_fee, minimum_seconds, increment_seconds, blocked}]}
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/call-rates.ts.
CREATE OR REPLACE FUNCTION public.call_rates_get()
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('rates', coalesce(jsonb_agg(jsonb_build_object(
           'prefix', r.prefix, 'rate_per_minute', r.rate_per_minute, 'connect_fee', r.connect_fee,
           'minimum_seconds', r.minimum_seconds, 'increment_seconds', r.increment_seconds,
           'blocked', r.blocked) order by r.prefix), '[]'::jsonb))
    from call_rates r
$function$;

-- call_rates_put(jsonb)
--
-- ---------------------------------------------------------------------------------------------
-- call_rates_put: replaces the whole rate table (PUT /api/admin/rates) in one transaction, so a
-- reader sees the old table or the new one, never half of each. The route validates the body
-- (zod); the table's CHECKs and primary key refuse anything else (a repeated prefix raises
-- unique_violation and nothing changes).
-- Inputs:  [{prefix, rate_per_minute, connect_fee, minimum_seconds, increment_seconds, blocked}]
-- Output:  call_rates_get()'s answer, after the change.
-- Effects: every row deleted, the given rows inserted. Calls already admitted keep the rate
--          fixed at their admission (their calls row and Redis entry carry it).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/call-rates.ts.
CREATE OR REPLACE FUNCTION public.call_rates_put(p_rates jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if jsonb_typeof(p_rates) = 'string' then
    p_rates := (p_rates #>> '{}')::jsonb;  -- PostgREST passes JSON text
  end if;
  if jsonb_typeof(p_rates) is distinct from 'array' or jsonb_array_length(p_rates) > 10000 then
    raise exception 'call_rates_put: expected an array of at most 10000 rates' using errcode = '22023';
  end if;
  -- Serialises concurrent replacements (the second waits, then replaces the first's table).
  lock table call_rates in share row exclusive mode;
  delete from call_rates;
  insert into call_rates (prefix, rate_per_minute, connect_fee, minimum_seconds, increment_seconds, blocked)
  select x->>'prefix', (x->>'rate_per_minute')::bigint, (x->>'connect_fee')::bigint,
         (x->>'minimum_seconds')::integer, (x->>'increment_seconds')::integer, (x->>'blocked')::boolean
    from jsonb_array_elements(p_rates) x;
  return call_rates_get();
end $function$;

-- call_settle_core(text,bigint,integer,text)
--
-- (from 20261207001100_call_rates_functions)
-- The charge is call_rate_cost at the rate fixed at the call's admission (its calls row): connect
-- fee + ceil(billable × rate ÷ 60), billable raised to the minimum and then up to whole
-- increments, rounded once. A call with no row, or a row admitted before rates were kept, is
-- charged at p_rate_per_minute (CALL_RATE_PER_MINUTE) with no fee, no minimum, increments of 1 s:
-- exactly as before.
--
-- The settlement of one call (its report or the sweeper's finding) — the body that was
-- call_settle until 20261130001200_spend_controls renamed it: call_settle wraps it and adds the
-- wallet's `controls` to its answer (read in the same transaction, so the same version).
-- Internal: executable only by its owner.
--
-- Seconds when the report has endedAt but neither startedAt nor durationSeconds (issue 22 item
-- 10): from the call's admission (calls.admitted_at) to that endedAt, clamped to 0..bound; basis
-- admission_to_report_ended, still counted as implausible (reason missing) for review.
--
-- Defined in 20261130000600_call_settle as call_settle; renamed in 20261130001200_spend_controls;
-- replaced in 20261206204000_settle_from_admission_to_ended (current).
--
-- Called by: call_settle().
CREATE OR REPLACE FUNCTION public.call_settle_core(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_settled_by text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  w wallets%rowtype;
  r call_reports%rowtype;
  c calls%rowtype;
  e ledger_entries%rowtype;
  v_has_call boolean;
  v_bound numeric;        -- seconds
  v_reported numeric;     -- seconds, as the report gives them (null: missing)
  v_seconds numeric;      -- seconds billed
  v_basis text;
  v_reason text;
  v_amount bigint;
  v_posted jsonb;
  v_replayed boolean;
begin
  if p_call_id is null or length(p_call_id) not between 1 and 200 then
    raise exception 'call_settle: bad call id' using errcode = '22023';
  end if;
  if p_rate_per_minute is null or p_rate_per_minute <= 0 then
    raise exception 'call_settle: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_grace_seconds is null or p_grace_seconds < 0 then
    raise exception 'call_settle: grace % must be >= 0', p_grace_seconds using errcode = '22023';
  end if;
  if p_settled_by is null or p_settled_by not in ('report', 'sweeper') then
    raise exception 'call_settle: settled_by % must be report or sweeper', p_settled_by
      using errcode = '22023';
  end if;

  -- The report's organisation never changes once recorded: find it, then lock its wallet, then
  -- read everything again under that lock (the lock order of every money function).
  select org_id into v_org from call_reports where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'no_report');
  end if;
  if v_org is null then
    return jsonb_build_object('outcome', 'unattributed');
  end if;
  select * into w from wallets where org_id = v_org for update;
  if not found then
    return jsonb_build_object('outcome', 'no_wallet', 'org_id', v_org);
  end if;
  select * into r from call_reports where call_id = p_call_id for update;

  if r.billed_at is not null then
    select * into e from ledger_entries where id = r.charge_entry_id;
    return jsonb_build_object(
      'outcome', 'already_billed', 'org_id', v_org, 'entry_id', e.id, 'amount', -e.amount,
      'replayed', true, 'balance', w.balance, 'version', w.version, 'currency', w.currency);
  end if;

  select * into c from calls where call_id = p_call_id for update;
  v_has_call := found;
  v_bound := (case when v_has_call then c.max_duration_seconds else 43200 end) + p_grace_seconds;

  -- The report's own figure: timestamps first, else durationSeconds (exact: numeric epochs).
  if r.started_at is not null and r.ended_at is not null then
    v_reported := extract(epoch from r.ended_at) - extract(epoch from r.started_at);
  else
    v_reported := r.duration_seconds;
  end if;

  if v_reported is null then
    v_reason := 'missing';
  elsif v_reported < 0 then
    v_reason := 'negative';
  elsif v_reported > v_bound then
    v_reason := 'beyond_bound';
  end if;

  if v_reason is null then
    v_seconds := v_reported;
    v_basis := 'report';
  elsif v_reason = 'missing' and v_has_call and r.ended_at is not null then
    -- Vapi gave the end but no start (a call object with endedAt and no startedAt, as the sweeper
    -- reads it): from our admission to Vapi's endedAt, never to the report's arrival (for the
    -- sweeper, the sweep time, long after the call: that billed a short call its whole bound).
    v_basis := 'admission_to_report_ended';
    v_seconds := least(v_bound, greatest(0::numeric,
      extract(epoch from r.ended_at) - extract(epoch from c.admitted_at)));
  elsif v_has_call then
    -- Our own record: admission to the ended status-update, else to the report's arrival.
    v_basis := case when c.ended_at is not null then 'admission_to_ended' else 'admission_to_received' end;
    v_seconds := least(v_bound, greatest(0::numeric,
      extract(epoch from coalesce(c.ended_at, r.received_at)) - extract(epoch from c.admitted_at)));
  else
    v_basis := 'none';
    v_seconds := 0;
  end if;

  -- At the call's own rate, rounded once (exact numeric).
  if v_has_call and c.rate_per_minute is not null then
    v_amount := call_rate_cost(v_seconds, c.rate_per_minute, c.connect_fee, c.minimum_seconds, c.increment_seconds);
  else
    v_amount := call_rate_cost(v_seconds, p_rate_per_minute, 0, 0, 1);
  end if;

  -- The hold ends before the charge is posted, in this same transaction: ledger_post looks at
  -- `available` for alerts and auto-recharge, and must not count the call twice (its hold and
  -- its charge). Nobody else sees the state in between (the wallet row is locked).
  update calls set settled_by = p_settled_by, settled_at = now(),
                   hold_state = 'released', released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'billed')
   where call_id = p_call_id and settled_at is null;

  -- An entry under the call's key may exist from an earlier two-step settlement that crashed
  -- before stamping the report: it is the call's charge, reused as it is.
  select * into e from ledger_entries where org_id = v_org and idempotency_key = 'call:' || p_call_id;
  if found then
    v_replayed := true;
  else
    v_posted := ledger_post(v_org, 'call', -v_amount, 'call:' || p_call_id,
      format('call %s: %s ms', p_call_id, round(v_seconds * 1000, 3)), null, false);
    if v_posted->>'outcome' not in ('posted', 'replayed') then
      raise exception 'call_settle: unexpected ledger outcome %', v_posted using errcode = 'XX000';
    end if;
    select * into e from ledger_entries where id = (v_posted->>'entry_id')::bigint;
    select * into w from wallets where org_id = v_org;
    v_replayed := v_posted->>'outcome' = 'replayed';
  end if;

  update call_reports set billed_at = now(), charge_entry_id = e.id where call_id = p_call_id;
  -- The call's charge (also for a call the sweeper settled as unknown to Vapi whose report came
  -- after all).
  update calls set charge_entry_id = e.id
   where call_id = p_call_id and charge_entry_id is null;

  return jsonb_build_object(
    'outcome', 'charged', 'org_id', v_org, 'amount', -e.amount,
    'billed_ms', round(v_seconds * 1000, 3), 'seconds_basis', v_basis,
    'implausible', v_reason is not null, 'implausible_reason', v_reason,
    'entry_id', e.id, 'replayed', v_replayed,
    'beyond_debt_limit', e.balance_after < -w.debt_limit, 'balance_after', e.balance_after,
    'balance', w.balance, 'version', w.version, 'currency', w.currency);
end $function$;

-- calls_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text)
--
-- ---------------------------------------------------------------------------------------------
-- calls_due_for_sweep: one page of the calls the sweeper should settle from Vapi at p_now.
-- Inputs:  now, grace (seconds a report may lag behind the end of its call), page size (1..1000),
--          the cursor: hold_expires_at and call_id of the last row of the previous page (both
--          null for the first page; the exact text this function returned, not a rounded time).
-- Output:  {missing: [{call_id, org_id, hold_expires_at, sweep_deferrals}]} ordered by
--          (hold_expires_at, call_id): admitted calls with no report whose hold expired, or which
--          ended more than the grace ago (their report is considered lost, failure mode 19),
--          leaving out calls deferred past p_now (call_sweep_defer). A page shorter than the page
--          size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls, 20261130000500_sweep_paging (the last is current).
--
-- Called by: shared/calls/call-store.ts.
--
-- (from 20261207001100_call_rates_functions)
-- Outbound calls (outbound_calls) are keyed by our call id: each row carries Vapi's id
-- (vapi_call_id, null for inbound calls, whose call id is Vapi's), and an outbound call Vapi has
-- not answered for yet ('placing') is left to the outbound sweep (outbound_calls_placing), which
-- learns its fate from Vapi's listing first.
CREATE OR REPLACE FUNCTION public.calls_due_for_sweep(p_now timestamp with time zone, p_grace_seconds integer, p_limit integer, p_after_expires_at timestamp with time zone, p_after_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if (p_after_expires_at is null) <> (p_after_call_id is null) then
    raise exception 'calls_due_for_sweep: the cursor needs both hold_expires_at and call_id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'missing', coalesce((select jsonb_agg(jsonb_build_object(
         'call_id', x.call_id, 'org_id', x.org_id, 'hold_expires_at', x.hold_expires_at,
         'sweep_deferrals', x.sweep_deferrals, 'vapi_call_id', x.vapi_call_id) order by x.hold_expires_at, x.call_id)
       from (select c.call_id, c.org_id, c.hold_expires_at, c.sweep_deferrals, o.vapi_call_id from calls c
               left join outbound_calls o on o.call_id = c.call_id
              where c.settled_at is null
                and (o.call_id is null or o.state = 'placed')
                and (p_after_expires_at is null
                     or (c.hold_expires_at, c.call_id) > (p_after_expires_at, p_after_call_id))
                and (c.next_sweep_at is null or c.next_sweep_at <= p_now)
                and not exists (select 1 from call_reports r where r.call_id = c.call_id)
                and (c.hold_expires_at <= p_now
                     or coalesce(c.ended_at, c.released_at) <= p_now - make_interval(secs => p_grace_seconds))
              order by c.hold_expires_at, c.call_id
              limit least(greatest(p_limit, 1), 1000)) x), '[]'::jsonb));
end $function$;

-- org_dialing_get(uuid)
--
-- An organisation's dialing permissions (null = none set: any country, no rate limit).
-- Output: {outcome: found, allowed_countries, calls_per_second} | {outcome: not_found} (no organisation)
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: org_dialing_set(), shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.org_dialing_get(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select case when o.id is null then jsonb_build_object('outcome', 'not_found')
              else jsonb_build_object('outcome', 'found', 'allowed_countries', to_jsonb(d.allowed_countries),
                                      'calls_per_second', d.calls_per_second) end
    from (select p_org_id as id) q
    left join organizations o on o.id = q.id
    left join org_dialing d on d.org_id = q.id
$function$;

-- org_dialing_set(uuid,text[],integer)
--
-- ---------------------------------------------------------------------------------------------
-- org_dialing_set: replaces an organisation's dialing permissions (PUT
-- /api/admin/orgs/:orgId/dialing; a key left out is null). Checked again by outbound_call_admit
-- under the wallet row lock, so a call admitted after this commits sees it.
-- Inputs:  org id, allowed countries (ISO alpha-2, null = any), calls per second (null = no limit).
-- Output:  org_dialing_get()'s answer.
-- Effects: the org_dialing row written.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.org_dialing_set(p_org_id uuid, p_allowed_countries text[], p_calls_per_second integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if not exists (select 1 from organizations where id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into org_dialing (org_id, allowed_countries, calls_per_second, updated_at)
  values (p_org_id, p_allowed_countries, p_calls_per_second, now())
  on conflict (org_id) do update
     set allowed_countries = excluded.allowed_countries, calls_per_second = excluded.calls_per_second,
         updated_at = now();
  return org_dialing_get(p_org_id);
end $function$;

-- outbound_call_admit(uuid,text,text,text,text,text,text,text,bigint,bigint,integer,integer,integer,integer,text,integer,integer,timestamp with time zone)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_call_admit: the gate of a call the service places itself (POST /api/calls, CONTRACT
-- §10; failure mode 41), one transaction before Vapi is asked: the Idempotency-Key, the caller's
-- number, the destination's rate, the dialing permissions, the platform's capacity and then the
-- same admission as an inbound call's Postgres path (call_gate_admit: frozen, spend controls,
-- plan, hold), at the destination's rate, fixed on the calls row.
-- Inputs:  org id; our call id (a new uuid: the key of the call's hold, charge and webhooks);
--          the Idempotency-Key and the request's fingerprint; the destination (E.164) and its
--          country (ISO alpha-2 by calling code, from libphonenumber-js; null if it has none); the
--          caller's number as our id or Vapi's; the assistant; CALL_RATE_PER_MINUTE (the rate when
--          no prefix matches) and the gate's settings as call_gate_admit takes them;
--          VAPI_CONCURRENCY_LIMIT (null = none); the gate's clock.
-- Output:  {outcome: held, call_id, hold, max_duration_seconds, available, rate, currency,
--           vapi_phone_number_id, replayed: false}
--          | the key's recorded outcome with replayed: true ({outcome: placing, call_id} while
--            Vapi's answer is awaited or was lost; {outcome: placed|failed, answer}; a refusal)
--          | {outcome: insufficient_funds, balance, available, required, shortfall, currency}
--          | {outcome: wallet_frozen} | {outcome: limit_reached, limit}
--          | {outcome: destination_not_allowed, destination, reason: blocked|country}
--            (these four recorded under the key, as a purchase's refusals are)
--          | {outcome: calls_per_second, limit} | {outcome: platform_at_capacity, limit}
--          | {outcome: unknown_phone_number} | {outcome: idempotency_key_reused}
--          | {outcome: not_found}                         (not recorded: retrying may succeed)
-- Effects: under the wallet row lock (and, with a capacity limit, a transaction-level advisory
--          lock taken before it, the same for every outbound admission: the count of calls in
--          progress across organisations is exact): on held, the calls row (as call_gate_admit
--          writes it, with the rate), the outbound_calls row ('placing') and the key's record
--          {outcome: placing, call_id}, in one transaction. Nothing is held or recorded on a refusal
--          but the refusal itself.
-- Calls per second: outbound calls this organisation was admitted in the second before p_now
--          (a sliding window, counted under its wallet row lock, so exact under concurrency).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_admit(p_org_id uuid, p_call_id text, p_idempotency_key text, p_fingerprint text, p_destination text, p_country text, p_phone_number_id text, p_assistant_id text, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_concurrency_limit integer, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  w wallets%rowtype;
  d org_dialing%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_prior jsonb;
  v_number phone_numbers%rowtype;
  v_rate jsonb;
  v_per_minute bigint;
  v_fee bigint;
  v_min integer;
  v_inc integer;
  v_step jsonb;
  v_refusal jsonb;
  v_count bigint;
  v_required bigint;
  v_available bigint;
begin
  if p_concurrency_limit is not null then
    -- Every outbound admission counts the calls in progress of every organisation: one at a time.
    perform pg_advisory_xact_lock(hashtext('billing_gates.outbound_capacity'));
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  v_prior := idempotency_lookup(p_org_id, 'call', p_idempotency_key, p_fingerprint);
  if v_prior is not null then
    return v_prior;
  end if;

  select * into v_number from phone_numbers n
   where n.org_id = p_org_id and n.released_at is null and n.vapi_phone_number_id is not null
     and (n.vapi_phone_number_id = p_phone_number_id or n.id::text = p_phone_number_id)
   limit 1;
  if not found then
    return jsonb_build_object('outcome', 'unknown_phone_number');
  end if;

  v_rate := call_rate_match(p_destination);
  if coalesce((v_rate->>'blocked')::boolean, false) then
    v_refusal := jsonb_build_object('outcome', 'destination_not_allowed', 'destination', p_destination, 'reason', 'blocked');
  end if;
  select * into d from org_dialing where org_id = p_org_id;
  if v_refusal is null and d.allowed_countries is not null
     and (p_country is null or not (p_country = any (d.allowed_countries))) then
    v_refusal := jsonb_build_object('outcome', 'destination_not_allowed', 'destination', p_destination, 'reason', 'country');
  end if;
  if v_refusal is not null then
    return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint, v_refusal);
  end if;

  if d.calls_per_second is not null then
    select count(*) into v_count from outbound_calls o
     where o.org_id = p_org_id and o.created_at > v_now - interval '1 second' and o.created_at <= v_now;
    if v_count >= d.calls_per_second then
      return jsonb_build_object('outcome', 'calls_per_second', 'limit', d.calls_per_second);
    end if;
  end if;
  if p_concurrency_limit is not null then
    select count(*) into v_count from outbound_calls o join calls c on c.call_id = o.call_id
     where o.state <> 'failed' and c.settled_at is null and c.ended_at is null and c.hold_expires_at > v_now;
    if v_count >= p_concurrency_limit then
      return jsonb_build_object('outcome', 'platform_at_capacity', 'limit', p_concurrency_limit);
    end if;
  end if;

  v_per_minute := coalesce((v_rate->>'rate_per_minute')::bigint, p_rate_per_minute);
  v_fee := coalesce((v_rate->>'connect_fee')::bigint, 0);
  v_min := coalesce((v_rate->>'minimum_seconds')::integer, 0);
  v_inc := coalesce((v_rate->>'increment_seconds')::integer, 1);
  v_step := call_gate_admit(p_org_id, p_call_id, v_per_minute, p_min_balance, p_safety_margin_seconds,
    p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds, v_now,
    v_fee, v_min, v_inc, v_rate->>'prefix');
  case v_step->>'outcome'
    when 'held' then
      null;
    when 'refused' then
      if v_step->>'reason' = 'wallet_frozen' then
        v_refusal := jsonb_build_object('outcome', 'wallet_frozen');
      else
        v_refusal := jsonb_build_object('outcome', 'limit_reached', 'limit', v_step->>'reason');
      end if;
      return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint, v_refusal);
    when 'available' then
      v_available := (v_step->>'available')::bigint;
      v_required := greatest(p_min_balance, call_rate_cost(p_min_duration_seconds, v_per_minute, v_fee, v_min, v_inc));
      return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint, jsonb_build_object(
        'outcome', 'insufficient_funds', 'balance', w.balance, 'available', v_available,
        'required', v_required, 'shortfall', greatest(1, v_required - v_available), 'currency', w.currency));
    else
      -- 'existing' (a call id reused: a programmer error) or 'not_found' (no wallet: locked above).
      raise exception 'outbound_call_admit: unexpected admission %', v_step using errcode = 'XX000';
  end case;

  insert into outbound_calls (call_id, org_id, idempotency_key, destination, country, vapi_phone_number_id,
                              assistant_id, created_at)
  values (p_call_id, p_org_id, p_idempotency_key, p_destination, p_country, v_number.vapi_phone_number_id,
          p_assistant_id, v_now);
  perform idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint,
    jsonb_build_object('outcome', 'placing', 'call_id', p_call_id));
  return jsonb_build_object('outcome', 'held', 'call_id', p_call_id, 'hold', v_step->'hold',
    'max_duration_seconds', (v_step->>'max_duration_seconds')::integer,
    'available', (v_step->>'available')::bigint,
    'rate', jsonb_build_object('prefix', v_rate->>'prefix', 'rate_per_minute', v_per_minute,
                               'connect_fee', v_fee, 'minimum_seconds', v_min, 'increment_seconds', v_inc),
    'currency', w.currency, 'vapi_phone_number_id', v_number.vapi_phone_number_id, 'replayed', false);
end $function$;

-- outbound_call_defer(text,timestamp with time zone)
--
-- The call sweeper could not yet tell an outbound call's fate (Vapi's listing failed, or it is
-- too soon to say the call was never made): not looked at again before p_until.
-- Output: {outcome: deferred | unchanged}
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_defer(p_call_id text, p_until timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update outbound_calls set next_check_at = p_until where call_id = p_call_id and state = 'placing';
  return jsonb_build_object('outcome', case when found then 'deferred' else 'unchanged' end);
end $function$;

-- outbound_call_failed(text,text,jsonb)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_call_failed: Vapi did not make the call (it refused POST /call with a 4xx, or the call
-- sweeper, long after the answer was lost, finds no such call in Vapi's listing): its hold ends
-- with no charge (settled_by not_found, as a call Vapi does not know), and the Idempotency-Key's
-- outcome becomes the failure answer.
-- Inputs:  our call id, why (logged, kept on the row), the answer's body.
-- Output:  {outcome: failed | unchanged | not_found, org_id?, state?}: unchanged when it was placed
--          or failed already (then nothing changes).
-- Effects: under the wallet row lock: outbound_calls 'placing' → 'failed'; the calls row settled
--          with its hold released; idempotency_keys.outcome {outcome: failed, answer}.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_failed(p_call_id text, p_failure text, p_answer jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  o outbound_calls%rowtype;
begin
  if jsonb_typeof(p_answer) = 'string' then
    p_answer := (p_answer #>> '{}')::jsonb;
  end if;
  select * into o from outbound_calls where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  perform 1 from wallets where org_id = o.org_id for update;
  select * into o from outbound_calls where call_id = p_call_id for update;
  if o.state <> 'placing' then
    return jsonb_build_object('outcome', 'unchanged', 'org_id', o.org_id, 'state', o.state);
  end if;
  update outbound_calls set state = 'failed', failure = left(p_failure, 500) where call_id = p_call_id;
  update calls set settled_by = 'not_found', settled_at = now(), hold_state = 'released',
                   released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'outbound_not_placed')
   where call_id = p_call_id and settled_at is null;
  update idempotency_keys set outcome = jsonb_build_object('outcome', 'failed', 'answer', p_answer)
   where org_id = o.org_id and scope = 'call' and key = o.idempotency_key;
  return jsonb_build_object('outcome', 'failed', 'org_id', o.org_id);
end $function$;

-- outbound_call_placed(text,text,jsonb)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_call_placed: Vapi made the call (its POST /call answer, or the call sweeper found it in
-- Vapi's listing after that answer was lost): the call's row takes Vapi's id, and the
-- Idempotency-Key's outcome becomes the answer, so a replay gets it and never places another call.
-- Inputs:  our call id, Vapi's call id, the 201 answer's body.
-- Output:  {outcome: placed | already | failed | not_found, org_id?, vapi_call_id?}: already when it
--          was placed before (the answer kept is the first), failed when the sweeper had given it
--          up (its hold released): the caller logs that call; nothing is charged twice either way.
-- Effects: outbound_calls 'placing' → 'placed' with vapi_call_id; idempotency_keys.outcome
--          {outcome: placed, answer}.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_placed(p_call_id text, p_vapi_call_id text, p_answer jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  o outbound_calls%rowtype;
begin
  if jsonb_typeof(p_answer) = 'string' then
    p_answer := (p_answer #>> '{}')::jsonb;
  end if;
  select * into o from outbound_calls where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  perform 1 from wallets where org_id = o.org_id for update;
  select * into o from outbound_calls where call_id = p_call_id for update;
  if o.state = 'placed' then
    return jsonb_build_object('outcome', 'already', 'org_id', o.org_id, 'vapi_call_id', o.vapi_call_id);
  elsif o.state = 'failed' then
    return jsonb_build_object('outcome', 'failed', 'org_id', o.org_id);
  end if;
  update outbound_calls set state = 'placed', vapi_call_id = p_vapi_call_id, placed_at = now()
   where call_id = p_call_id;
  update idempotency_keys set outcome = jsonb_build_object('outcome', 'placed', 'answer', p_answer)
   where org_id = o.org_id and scope = 'call' and key = o.idempotency_key;
  return jsonb_build_object('outcome', 'placed', 'org_id', o.org_id, 'vapi_call_id', p_vapi_call_id);
end $function$;

-- outbound_calls_placing(timestamp with time zone,timestamp with time zone,integer)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_calls_placing: the call sweeper's list of outbound calls whose Vapi answer never came
-- (still 'placing', admitted before p_before: longer ago than Vapi's timeout), oldest first, not
-- deferred past p_now.
-- Output:  {placing: [{call_id, org_id, created_at, vapi_phone_number_id, destination}]}
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_calls_placing(p_now timestamp with time zone, p_before timestamp with time zone, p_limit integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('placing', coalesce(jsonb_agg(jsonb_build_object(
           'call_id', x.call_id, 'org_id', x.org_id, 'created_at', x.created_at,
           'vapi_phone_number_id', x.vapi_phone_number_id, 'destination', x.destination)
           order by x.created_at, x.call_id), '[]'::jsonb))
    from (select o.* from outbound_calls o
           where o.state = 'placing' and o.created_at <= p_before
             and (o.next_check_at is null or o.next_check_at <= p_now)
           order by o.created_at, o.call_id
           limit least(greatest(p_limit, 1), 1000)) x
$function$;

-- phone_number_resolve(text,text)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_resolve: which organisation and assistant a called number belongs to.
-- Inputs:  Vapi phone-number id (may be null), called number in E.164 (may be null).
-- Output:  {outcome: found, org_id, assistant_id (or null), e164, vapi_phone_number_id} | {outcome: not_found}.
-- Effects: none. Live rows only (released_at is null); the Vapi id wins over the number.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls.
--
-- Called by: call_report_record(), shared/calls/call-store.ts.
--
-- (from 20261207001100_call_rates_functions)
-- Also the rate of the number (call_rate_match of its E.164, null when no row matches): an
-- inbound call is rated by the number it called (CONTRACT §10), looked up where the number is
-- resolved and cached with it, so the hot path pays nothing more for it.
CREATE OR REPLACE FUNCTION public.phone_number_resolve(p_vapi_phone_number_id text, p_e164 text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', n.org_id, 'assistant_id', n.assistant_id,
                               'e164', n.e164, 'vapi_phone_number_id', n.vapi_phone_number_id,
                               'rate', call_rate_match(n.e164))
       from phone_numbers n
      where n.released_at is null
        and ((p_vapi_phone_number_id is not null and n.vapi_phone_number_id = p_vapi_phone_number_id)
          or (p_e164 is not null and n.e164 = p_e164))
      order by (n.vapi_phone_number_id is not distinct from p_vapi_phone_number_id) desc
      limit 1),
    jsonb_build_object('outcome', 'not_found'))
$function$;

revoke all on function call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone,bigint,integer,integer,text) from public, anon, authenticated, service_role;
grant execute on function call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone,bigint,integer,integer,text) to service_role;
revoke all on function call_meter_renew(text,integer,bigint,bigint,timestamp with time zone,integer) from public, anon, authenticated, service_role;
grant execute on function call_meter_renew(text,integer,bigint,bigint,timestamp with time zone,integer) to service_role;
revoke all on function call_rate_match(text) from public, anon, authenticated, service_role;
grant execute on function call_rate_match(text) to service_role;
revoke all on function call_rates_get() from public, anon, authenticated, service_role;
grant execute on function call_rates_get() to service_role;
revoke all on function call_rates_put(jsonb) from public, anon, authenticated, service_role;
grant execute on function call_rates_put(jsonb) to service_role;
revoke all on function org_dialing_get(uuid) from public, anon, authenticated, service_role;
grant execute on function org_dialing_get(uuid) to service_role;
revoke all on function org_dialing_set(uuid,text[],integer) from public, anon, authenticated, service_role;
grant execute on function org_dialing_set(uuid,text[],integer) to service_role;
revoke all on function outbound_call_admit(uuid,text,text,text,text,text,text,text,bigint,bigint,integer,integer,integer,integer,text,integer,integer,timestamp with time zone) from public, anon, authenticated, service_role;
grant execute on function outbound_call_admit(uuid,text,text,text,text,text,text,text,bigint,bigint,integer,integer,integer,integer,text,integer,integer,timestamp with time zone) to service_role;
revoke all on function outbound_call_defer(text,timestamp with time zone) from public, anon, authenticated, service_role;
grant execute on function outbound_call_defer(text,timestamp with time zone) to service_role;
revoke all on function outbound_call_failed(text,text,jsonb) from public, anon, authenticated, service_role;
grant execute on function outbound_call_failed(text,text,jsonb) to service_role;
revoke all on function outbound_call_placed(text,text,jsonb) from public, anon, authenticated, service_role;
grant execute on function outbound_call_placed(text,text,jsonb) to service_role;
revoke all on function outbound_calls_placing(timestamp with time zone,timestamp with time zone,integer) from public, anon, authenticated, service_role;
grant execute on function outbound_calls_placing(timestamp with time zone,timestamp with time zone,integer) to service_role;
