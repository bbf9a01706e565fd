-- stripe_lock_payment_wallet(text)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: stripe_charge_refunded(), stripe_dispute_event().
CREATE OR REPLACE FUNCTION public.stripe_lock_payment_wallet(p_payment_intent_id text)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select 1 from wallets
   where org_id = (select org_id from top_ups where payment_intent_id = p_payment_intent_id)
  for update
$function$;
