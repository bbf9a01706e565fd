-- provision_request_mark_failed(uuid,text)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_mark_failed: the final failure of a request (any cause).
-- Inputs:  request id, error text.  Output: {outcome: failed (replayed) | final | not_found, request}.
-- Effects: queued/provisioning/retrying -> failed with the error. Already failed: replayed.
--          Completed or refunded: left alone (final).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_mark_failed(p_request_id uuid, p_error text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set status = 'failed', error = left(p_error, 1000), updated_at = now()
   where id = p_request_id and status in ('queued', 'provisioning', 'retrying')
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'failed', 'replayed', false, 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if r.status = 'failed' then
    return jsonb_build_object('outcome', 'failed', 'replayed', true, 'request', provisioning_json(r));
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $function$;
