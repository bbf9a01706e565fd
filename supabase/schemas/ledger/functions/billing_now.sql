-- billing_now()
--
-- ---------------------------------------------------------------------------------------------
-- billing_now (internal): the service's billing clock, now() + billing_offset_seconds(). Every
-- rental period, grace period and the daily spend day are read on it, in SQL; the TypeScript side
-- reads the same offset (shared/rental/billing-clock.ts) for the Redis gate's spend day. Sandbox
-- mode moves it forward with billing_clock_advance (POST /api/admin/clock); elsewhere it is now().
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: phone_number_rent_charge(), phone_numbers_rent_due(), provision_request_complete().
CREATE OR REPLACE FUNCTION public.billing_now()
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return now() + make_interval(secs => billing_offset_seconds());
end $function$;
