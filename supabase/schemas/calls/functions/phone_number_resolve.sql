-- phone_number_resolve(text,text)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_resolve: which organisation and assistant a called number belongs to.
-- Inputs:  Vapi phone-number id (may be null), called number in E.164 (may be null).
-- Output:  {outcome: found, org_id, assistant_id (or null), e164, vapi_phone_number_id, status,
--          rate} | {outcome: not_found}. status (issue 24): active, past_due or releasing — the gate
--          refuses calls to the last two with a sentence; reports still find their organisation.
-- Effects: none. Live rows only (released_at is null); the Vapi id wins over the number.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls, 20261206000200_number_rental, 20261207001100_call_rates_functions
-- and 20261207001200_merge_outbound_with_main (the last is current: both the status and the rate).
--
-- Called by: call_report_record(), shared/calls/call-store.ts.
--
-- (from 20261207001100_call_rates_functions)
-- Also the rate of the number (call_rate_match of its E.164, null when no row matches): an
-- inbound call is rated by the number it called (CONTRACT §10), looked up where the number is
-- resolved and cached with it, so the hot path pays nothing more for it.
CREATE OR REPLACE FUNCTION public.phone_number_resolve(p_vapi_phone_number_id text, p_e164 text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', n.org_id, 'assistant_id', n.assistant_id,
                               'e164', n.e164, 'vapi_phone_number_id', n.vapi_phone_number_id,
                               'status', n.status, 'rate', call_rate_match(n.e164))
       from phone_numbers n
      where n.released_at is null
        and ((p_vapi_phone_number_id is not null and n.vapi_phone_number_id = p_vapi_phone_number_id)
          or (p_e164 is not null and n.e164 = p_e164))
      order by (n.vapi_phone_number_id is not distinct from p_vapi_phone_number_id) desc
      limit 1),
    jsonb_build_object('outcome', 'not_found'))
$function$;
