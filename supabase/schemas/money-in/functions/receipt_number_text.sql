-- receipt_number_text(bigint)
--
-- How a receipt number is written (CONTRACT §12): 'R-' and at least six digits, R-000001 for 1,
-- R-1234567 past a million (never cut short).
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: top_up_receipt_get(), top_ups_list().
CREATE OR REPLACE FUNCTION public.receipt_number_text(p_number bigint)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select 'R-' || lpad(p_number::text, greatest(6, length(p_number::text)), '0')
$function$;
