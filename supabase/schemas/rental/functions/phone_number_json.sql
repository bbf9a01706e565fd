-- phone_number_json(phone_numbers,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_json (internal): a number and its rental terms, as the service reads them.
-- Inputs:  the row, NUMBER_GRACE_DAYS in seconds.
-- Output:  {id, org_id, e164, status, source, vapi_phone_number_id, twilio_sid, rent_anchor,
--          paid_months, paid_until, next_charge_at (paid_until while active or past due: when the
--          next month is charged, or since when it is overdue; else null), release_at (a past-due
--          number's end of grace: released then unless paid; else null), past_due_since,
--          release_reason, released_at, created_at}.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: phone_number_release_begin(), phone_number_release_finish(), phone_number_rent_charge(), phone_numbers_list().
CREATE OR REPLACE FUNCTION public.phone_number_json(n phone_numbers, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE
AS $function$
  select jsonb_build_object(
    'id', n.id, 'org_id', n.org_id, 'e164', n.e164, 'status', n.status, 'source', n.source,
    'vapi_phone_number_id', n.vapi_phone_number_id, 'twilio_sid', n.twilio_sid,
    'rent_anchor', n.rent_anchor, 'paid_months', n.paid_months, 'paid_until', n.paid_until,
    'next_charge_at', case when n.status in ('active', 'past_due') then n.paid_until end,
    'release_at', case when n.status = 'past_due'
                       then n.past_due_since + make_interval(secs => p_grace_seconds) end,
    'past_due_since', n.past_due_since, 'release_reason', n.release_reason,
    'released_at', n.released_at, 'created_at', n.created_at)
$function$;
