-- provision_request_complete(uuid,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_complete: records the managed number and completes the request, together.
-- Inputs:  request id, E.164 number, Twilio sid, Vapi phone-number id.
-- Output:  {outcome: completed (replayed) | final | not_found, request}.
-- Effects: from queued/provisioning/retrying: one phone_numbers row (source provisioned, with the
--          requested assistant) and status completed, in one transaction. A completed request
--          returns replayed = true; a failed or refunded one is never revived (final).
--          The purchase paid the first month (issue 24, CONTRACT §11): the number's rent anchor
--          is now on the billing clock, paid until one month later (rent_period_start).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning, 20261206000200_number_rental (the last is current).
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_complete(p_request_id uuid, p_phone_number text, p_twilio_sid text, p_vapi_phone_number_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  r provisioning_requests%rowtype;
  -- Whole seconds: the anniversaries (and the rent keys naming them) read cleanly.
  v_anchor timestamptz := date_trunc('second', billing_now());
begin
  select * into r from provisioning_requests where id = p_request_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if r.status = 'completed' then
    return jsonb_build_object('outcome', 'completed', 'replayed', true, 'request', provisioning_json(r));
  end if;
  if r.status not in ('queued', 'provisioning', 'retrying') then
    return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
  end if;
  insert into phone_numbers (org_id, e164, vapi_phone_number_id, assistant_id, twilio_sid, source,
                             status, rent_anchor, paid_months, paid_until)
  values (r.org_id, p_phone_number, p_vapi_phone_number_id, r.assistant_id, p_twilio_sid, 'provisioned',
          'active', v_anchor, 1, rent_period_start(v_anchor, 1));
  update provisioning_requests
     set status = 'completed', phone_number = p_phone_number, twilio_sid = p_twilio_sid,
         vapi_phone_number_id = p_vapi_phone_number_id, error = null, updated_at = now()
   where id = p_request_id
  returning * into r;
  return jsonb_build_object('outcome', 'completed', 'replayed', false, 'request', provisioning_json(r));
end $function$;
