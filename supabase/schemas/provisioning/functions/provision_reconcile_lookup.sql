-- provision_reconcile_lookup(uuid[])
--
-- ---------------------------------------------------------------------------------------------
-- provision_reconcile_lookup: who owns the numbers named after requests (the reconciler).
-- Inputs:  request ids (at most 1000; the names found on Twilio and Vapi numbers).
-- Output:  {requests: [{id, status, twilio_sid, vapi_phone_number_id}]} for the ids that are
--          requests of this service; ids that are not are left out (numbers we did not buy).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001300_provisioning_reconcile.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_reconcile_lookup(p_request_ids uuid[])
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if coalesce(cardinality(p_request_ids), 0) > 1000 then
    raise exception 'provision_reconcile_lookup: at most 1000 ids per call' using errcode = '22023';
  end if;
  return jsonb_build_object('requests', coalesce((select jsonb_agg(jsonb_build_object(
      'id', r.id, 'status', r.status, 'twilio_sid', r.twilio_sid,
      'vapi_phone_number_id', r.vapi_phone_number_id))
    from provisioning_requests r where r.id = any(p_request_ids)), '[]'::jsonb));
end $function$;
