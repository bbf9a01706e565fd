-- org_dialing_set(uuid,text[],integer)
--
-- ---------------------------------------------------------------------------------------------
-- org_dialing_set: replaces an organisation's dialing permissions (PUT
-- /api/admin/orgs/:orgId/dialing; a key left out is null). Checked again by outbound_call_admit
-- under the wallet row lock, so a call admitted after this commits sees it.
-- Inputs:  org id, allowed countries (ISO alpha-2, null = any), calls per second (null = no limit).
-- Output:  org_dialing_get()'s answer.
-- Effects: the org_dialing row written.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.org_dialing_set(p_org_id uuid, p_allowed_countries text[], p_calls_per_second integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if not exists (select 1 from organizations where id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into org_dialing (org_id, allowed_countries, calls_per_second, updated_at)
  values (p_org_id, p_allowed_countries, p_calls_per_second, now())
  on conflict (org_id) do update
     set allowed_countries = excluded.allowed_countries, calls_per_second = excluded.calls_per_second,
         updated_at = now();
  return org_dialing_get(p_org_id);
end $function$;
