-- ledger_entries_append_only()
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: trigger ledger_entries_no_update on ledger_entries, trigger ledger_entries_no_truncate on ledger_entries.
CREATE OR REPLACE FUNCTION public.ledger_entries_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
begin
  raise exception 'ledger_entries is append-only (% refused)', tg_op using errcode = '42501';
end $function$;
