-- provision_request_load(uuid)
--
-- Internal lookup for workers (no org scope: a job carries only the request id).
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_load(p_request_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'request', provisioning_json(r))
       from provisioning_requests r where r.id = p_request_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
