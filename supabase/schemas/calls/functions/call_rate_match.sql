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
