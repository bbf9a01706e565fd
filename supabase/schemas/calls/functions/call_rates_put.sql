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
