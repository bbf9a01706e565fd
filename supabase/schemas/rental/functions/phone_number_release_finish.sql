-- phone_number_release_finish(uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_release_finish: records that a releasing number is gone at Vapi and Twilio.
-- Inputs:  number id, NUMBER_GRACE_DAYS in seconds.
-- Output:  {outcome: released | released_already | not_releasing, number: phone_number_json}
--          | {outcome: not_found}.
-- Effects: releasing → released (released_at, which frees the E.164 for the unique index of live
--          numbers) and one number.released event, with the reason (unpaid | customer). Call it
--          only after both providers confirmed the release: a number recorded released but still
--          live at Twilio would be billed to the platform by no one.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_release_finish(p_number_id uuid, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  n phone_numbers%rowtype;
begin
  select org_id into v_org from phone_numbers where id = p_number_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  perform 1 from wallets where org_id = v_org for update;
  select * into n from phone_numbers where id = p_number_id for update;
  if n.status = 'released' then
    return jsonb_build_object('outcome', 'released_already', 'number', phone_number_json(n, p_grace_seconds));
  end if;
  if n.status <> 'releasing' then
    return jsonb_build_object('outcome', 'not_releasing', 'number', phone_number_json(n, p_grace_seconds));
  end if;
  update phone_numbers set status = 'released', released_at = now() where id = n.id
  returning * into n;
  perform wallet_event_emit(v_org, 'number.released', jsonb_build_object(
    'numberId', n.id, 'phoneNumber', n.e164, 'reason', n.release_reason, 'paidUntil', n.paid_until));
  return jsonb_build_object('outcome', 'released', 'number', phone_number_json(n, p_grace_seconds));
end $function$;
