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
