-- billing_clock_get()
--
-- ---------------------------------------------------------------------------------------------
-- billing_clock_get: the billing clock (GET /api/admin/clock; every process's cached offset).
-- Inputs:  none.
-- Output:  {now, offset_seconds}.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.billing_clock_get()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_offset bigint := billing_offset_seconds();
begin
  return jsonb_build_object('now', now() + make_interval(secs => v_offset), 'offset_seconds', v_offset);
end $function$;
