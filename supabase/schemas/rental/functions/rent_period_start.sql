-- rent_period_start(timestamp with time zone,integer)
--
-- ---------------------------------------------------------------------------------------------
-- rent_period_start (internal): what "a month" means for a number's rent. The start of rental
-- month `p_months` (0 = the purchase) is the anchor (the purchase time) plus that many calendar
-- months in UTC: the same day of the month as the purchase, clamped to the last day of a shorter
-- month, at the purchase's time of day. Always counted from the anchor, never from the previous
-- (clamped) anniversary: a number bought on 31 January renews on 28 (or 29) February, then on
-- 31 March, 30 April, 31 May… Postgres's `timestamp + interval 'n months'` clamps exactly so.
-- Inputs:  the anchor, a month count (0..1200).
-- Output:  the anniversary.
-- Effects: none (immutable: UTC is fixed here, the session's time zone plays no part).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: phone_number_rent_charge(), provision_request_complete().
CREATE OR REPLACE FUNCTION public.rent_period_start(p_anchor timestamp with time zone, p_months integer)
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if p_months is null or p_months < 0 or p_months > 1200 then
    raise exception 'rent_period_start: months % out of range 0..1200', p_months using errcode = '22023';
  end if;
  return ((p_anchor at time zone 'utc') + make_interval(months => p_months)) at time zone 'utc';
end $function$;
