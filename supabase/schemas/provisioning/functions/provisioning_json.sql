-- provisioning_json(provisioning_requests)
--
-- Defined in 20261123000200_provisioning.
--
-- Called by: provision_request_complete(), provision_request_create(), provision_request_get(), provision_request_load(), provision_request_mark_failed(), provision_request_mark_retrying(), provision_request_note_import(), provision_request_note_step(), provision_request_refund_core(), provision_request_start_attempt().
CREATE OR REPLACE FUNCTION public.provisioning_json(r provisioning_requests)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE
AS $function$
  select jsonb_build_object(
    'id', r.id, 'org_id', r.org_id, 'area_code', r.area_code, 'country', r.country,
    'assistant_id', r.assistant_id, 'status', r.status, 'attempts', r.attempts,
    'max_attempts', r.max_attempts, 'phone_number', r.phone_number, 'twilio_sid', r.twilio_sid,
    'vapi_phone_number_id', r.vapi_phone_number_id, 'purchase_attempted', r.purchase_attempted,
    'vapi_import_attempted', r.vapi_import_attempted, 'error', r.error, 'charged', r.charged,
    'refunded', r.refunded, 'currency', r.currency, 'debit_entry_id', r.debit_entry_id,
    'refund_entry_id', r.refund_entry_id, 'created_at', r.created_at, 'updated_at', r.updated_at)
$function$;
