-- stripe_payment_lock(text)
--
-- ---------------------------------------------------------------------------------------------
-- stripe_charge_refunded: charge.refunded (amount_refunded is cumulative).
-- stripe_dispute_event: charge.dispute.created / funds_withdrawn / funds_reinstated / closed.
-- Both record what Stripe said (monotonically: a replayed or older refund total never lowers
-- what is known) and reconcile the payment. Output {outcome: applied | pending | duplicate |
-- mismatch, org_id, wallet}.
-- ---------------------------------------------------------------------------------------------
-- stripe_lock_payment_wallet (internal): locks the wallet a PaymentIntent was credited to, if
-- any, before the charge and dispute rows (the lock order of every money-in function).
-- stripe_payment_lock (internal): a transaction lock on one payment intent (see its callers).
--
-- Defined in 20261130001100_money_in.
--
-- Called by: stripe_charge_refunded(), stripe_dispute_event(), stripe_payment_succeeded().
CREATE OR REPLACE FUNCTION public.stripe_payment_lock(p_payment_intent_id text)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select pg_advisory_xact_lock(hashtextextended('stripe:pi:' || coalesce(p_payment_intent_id, ''), 0))
$function$;
