-- phone_number_release_begin(uuid,uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_release_begin: the customer gives a number up (DELETE /api/numbers/:id).
-- Inputs:  number id, the caller's organisation, NUMBER_GRACE_DAYS in seconds.
-- Output:  {outcome: releasing (begun now) | releasing_already | released_already | not_rented,
--           number: phone_number_json, currency (the wallet's)} | {outcome: not_found} (no such
--           number of this organisation).
-- Effects: an active or past-due number becomes releasing (reason customer): from this moment
--          no rent is charged and its calls are refused. No refund of the month begun. The
--          caller then releases it at Vapi and at Twilio by id, and phone_number_release_finish
--          records it; the rent sweep re-drives a release the caller could not finish.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_release_begin(p_number_id uuid, p_org_id uuid, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  n phone_numbers%rowtype;
  v_currency text;
begin
  -- The wallet's row first, as every function that changes a rented number locks them.
  select currency into v_currency from wallets where org_id = p_org_id for update;
  select * into n from phone_numbers where id = p_number_id and org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if n.rent_anchor is null then
    return jsonb_build_object('outcome', 'not_rented', 'number', phone_number_json(n, p_grace_seconds),
                              'currency', v_currency);
  end if;
  if n.status in ('released', 'releasing') then
    return jsonb_build_object('outcome', n.status || '_already', 'number', phone_number_json(n, p_grace_seconds),
                              'currency', v_currency);
  end if;
  update phone_numbers set status = 'releasing', release_reason = 'customer'
   where id = n.id
  returning * into n;
  return jsonb_build_object('outcome', 'releasing', 'number', phone_number_json(n, p_grace_seconds),
                            'currency', v_currency);
end $function$;
