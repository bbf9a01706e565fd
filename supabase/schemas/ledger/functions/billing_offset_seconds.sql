-- billing_offset_seconds()
--
-- ---------------------------------------------------------------------------------------------
-- billing_offset_seconds (internal): how far the billing clock runs ahead of now(), in seconds.
-- Inputs:  none.
-- Output:  the one row of billing_clock (0 when it has none: every deployment outside sandbox
--          mode, where nothing may move the clock).
-- Effects: none. plpgsql, not `language sql`: ledger_post and wallet_spent_on (the call gate's
--          Postgres path) call it, and a security-definer sql function is re-planned per call
--          (test/calls/hot-helpers.test.ts).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: billing_clock_advance(), billing_clock_get(), billing_now(), ledger_post(), wallet_purchase_refusal(), wallet_spent_on().
CREATE OR REPLACE FUNCTION public.billing_offset_seconds()
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return coalesce((select c.offset_seconds from billing_clock c where c.id), 0);
end $function$;
