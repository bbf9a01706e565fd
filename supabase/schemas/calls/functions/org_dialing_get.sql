-- org_dialing_get(uuid)
--
-- An organisation's dialing permissions (null = none set: any country, no rate limit).
-- Output: {outcome: found, allowed_countries, calls_per_second} | {outcome: not_found} (no organisation)
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: org_dialing_set(), shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.org_dialing_get(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select case when o.id is null then jsonb_build_object('outcome', 'not_found')
              else jsonb_build_object('outcome', 'found', 'allowed_countries', to_jsonb(d.allowed_countries),
                                      'calls_per_second', d.calls_per_second) end
    from (select p_org_id as id) q
    left join organizations o on o.id = q.id
    left join org_dialing d on d.org_id = q.id
$function$;
