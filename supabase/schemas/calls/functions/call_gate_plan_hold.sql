-- call_gate_plan_hold(bigint,bigint,bigint,integer,integer,integer,text,integer)
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
-- Called by: call_gate_admit_plan().
CREATE OR REPLACE FUNCTION public.call_gate_plan_hold(p_available bigint, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer)
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
                 (greatest(p_available, 0) * 60) / p_rate_per_minute - p_safety_margin_seconds));
  v_cap := (v_seconds * p_rate_per_minute + 59) / 60;
  v_amount := v_cap;
  if p_policy = 'metered' then
    v_amount := least((p_hold_seconds::bigint * p_rate_per_minute + 59) / 60, v_cap);
  end if;
  v_amount := greatest(v_amount, p_min_balance);
  if v_amount > p_available then
    return null;
  end if;
  return array[v_amount, v_seconds, v_cap, least(v_seconds, (v_amount * 60) / p_rate_per_minute)];
end $function$;
