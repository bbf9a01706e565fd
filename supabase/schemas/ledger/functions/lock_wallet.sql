-- lock_wallet(uuid)
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: auto_recharge_settings_put(), provision_request_refund_core(), topup_create(), wallet_alerts_put(), wallet_credit(), wallet_refund().
CREATE OR REPLACE FUNCTION public.lock_wallet(p_org_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  perform 1 from wallets where org_id = p_org_id for update;
  return found;
end $function$;
