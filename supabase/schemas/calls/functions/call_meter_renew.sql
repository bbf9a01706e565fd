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
