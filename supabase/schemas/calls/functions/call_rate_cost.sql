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
