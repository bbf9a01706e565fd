-- provision_request_note_step(uuid,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_note_step: records that a purchase or import request is about to be sent
-- (and, once known, the number bought), so the release step knows where to look.
-- Inputs:  request id, step (purchase | vapi_import | purchased), number and sid for purchased.
-- Output:  {outcome: noted | final | not_found, request}.
-- Effects: only on requests in provisioning; idempotent.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_note_step(p_request_id uuid, p_step text, p_phone_number text, p_twilio_sid text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r provisioning_requests%rowtype;
begin
  if p_step not in ('purchase', 'vapi_import', 'purchased') then
    raise exception 'provision_request_note_step: bad step %', p_step using errcode = '22023';
  end if;
  update provisioning_requests
     set purchase_attempted = purchase_attempted or p_step = 'purchase',
         vapi_import_attempted = vapi_import_attempted or p_step = 'vapi_import',
         phone_number = case when p_step = 'purchased' then p_phone_number else phone_number end,
         twilio_sid = case when p_step = 'purchased' then p_twilio_sid else twilio_sid end,
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
