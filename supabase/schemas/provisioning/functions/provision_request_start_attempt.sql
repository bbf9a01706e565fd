-- provision_request_start_attempt(uuid)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_start_attempt: a worker begins an attempt.
-- Inputs:  request id.  Output: {outcome: started | final | not_found, request}.
-- Effects: from queued/provisioning/retrying: status provisioning, attempts + 1 (a run after a
--          stall counts as an attempt). Final and failed requests are left alone.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_start_attempt(p_request_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set status = 'provisioning', attempts = attempts + 1, updated_at = now()
   where id = p_request_id and status in ('queued', 'provisioning', 'retrying')
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'started', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $function$;
