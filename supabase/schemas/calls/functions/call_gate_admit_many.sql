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
