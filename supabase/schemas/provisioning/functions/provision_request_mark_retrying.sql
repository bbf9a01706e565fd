-- provision_request_mark_retrying(uuid,text)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_mark_retrying: an attempt failed with a retryable error.
-- Inputs:  request id, error text.  Output: {outcome: retrying | unchanged | not_found, request}.
-- Effects: provisioning -> retrying with the error; any other state is left alone.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_mark_retrying(p_request_id uuid, p_error text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set status = 'retrying', error = left(p_error, 1000), updated_at = now()
   where id = p_request_id and status = 'provisioning'
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'retrying', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'unchanged', 'request', provisioning_json(r));
end $function$;
