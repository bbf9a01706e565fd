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
