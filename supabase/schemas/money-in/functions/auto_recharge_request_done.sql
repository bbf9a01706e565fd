-- auto_recharge_request_done(uuid,uuid)
--
-- ---------------------------------------------------------------------------------------------
-- auto_recharge_request_done (internal): the wallet's open "recharge wanted" outbox row is
-- answered; it is closed and recharge_wanted cleared with it (the watch may ask again).
-- Inputs:  the organisation; the recharge (top-up) whose answer this is, or null for whichever
--          row is open (auto_recharge_claim: nothing to do).
-- Effects: closes only a row of that recharge when one is named, so a late answer about an older
--          recharge never closes a newer request. Call while holding the wallet row lock (every
--          caller does, then the settings row: the order everywhere).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207000100_recharge_outbox_functions.
--
-- Called by: auto_recharge_claim(), auto_recharge_submitted(), stripe_payment_succeeded(), top_up_fail().
CREATE OR REPLACE FUNCTION public.auto_recharge_request_done(p_org_id uuid, p_top_up_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update money_outbox
     set done_at = now(), claimed_until = null
   where org_id = p_org_id and task = 'auto_recharge' and done_at is null
     and (p_top_up_id is null or top_up_id = p_top_up_id);
  if not found then
    return false;
  end if;
  update wallet_money_settings set recharge_wanted = false, updated_at = now()
   where org_id = p_org_id and recharge_wanted;
  return true;
end $function$;
