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
