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
