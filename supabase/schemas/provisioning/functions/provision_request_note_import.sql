-- provision_request_note_import(uuid,text)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_note_import: records the Vapi phone-number id of the import just made, so
-- that a release deletes that id and never a Vapi number found by its E.164 (failure mode 30).
-- Inputs:  request id, Vapi phone-number id.  Output: {outcome: noted | final | not_found, request}.
-- Effects: only on requests in provisioning; idempotent.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001300_provisioning_reconcile.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_note_import(p_request_id uuid, p_vapi_phone_number_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set vapi_phone_number_id = p_vapi_phone_number_id, vapi_import_attempted = true,
         updated_at = now()
   where id = p_request_id and status = 'provisioning'
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'noted', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $function$;
