-- stripe_event_done(text,text,uuid)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: stripe_charge_refunded(), stripe_dispute_event(), stripe_payment_closed(), stripe_payment_succeeded().
CREATE OR REPLACE FUNCTION public.stripe_event_done(p_event_id text, p_outcome text, p_org_id uuid)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  update stripe_events set outcome = p_outcome, org_id = p_org_id where event_id = p_event_id
$function$;
