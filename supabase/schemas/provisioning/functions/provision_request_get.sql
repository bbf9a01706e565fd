-- provision_request_get(uuid,uuid)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_get: one request, only for its own organisation (failure mode 21).
-- Inputs:  org, request id.  Output: {outcome: found, request} | {outcome: not_found}.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_get(p_org_id uuid, p_request_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'request', provisioning_json(r))
       from provisioning_requests r where r.id = p_request_id and r.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
