-- top_up_json(top_ups)
--
-- ---------------------------------------------------------------------------------------------
-- Top-ups through Checkout.
-- topup_create: Inputs org, amount (1..100000000; the API checks TOPUP_MIN/MAX), Idempotency-Key,
--   fingerprint. Output {outcome: created, replayed, top_up} | not_found | idempotency_key_reused.
--   Effects: one pending top_up per key (the session is attached after Stripe answers).
-- topup_attach_session: records the Checkout Session of a top-up (first one wins).
-- topup_get: one top-up of one organisation, or not_found.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in.
--
-- Called by: auto_recharge_claim(), auto_recharge_submitted(), stripe_payment_succeeded(), top_up_fail(), topup_attach_session(), topup_create(), topup_get().
CREATE OR REPLACE FUNCTION public.top_up_json(t top_ups)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'id', t.id, 'org_id', t.org_id, 'source', t.source, 'status', t.status, 'amount', t.amount,
    'currency', t.currency, 'checkout_session_id', t.checkout_session_id, 'checkout_url', t.checkout_url,
    'payment_intent_id', t.payment_intent_id,
    'credited', coalesce((select e.amount from ledger_entries e where e.id = t.credit_entry_id), 0),
    'refunded', coalesce((select sum(c.refunded_taken) from stripe_charges c
                           where t.payment_intent_id is not null and c.payment_intent_id = t.payment_intent_id), 0)
              + coalesce((select sum(d.amount) from stripe_disputes d
                           where t.payment_intent_id is not null and d.payment_intent_id = t.payment_intent_id
                             and d.withdrawn_entry_id is not null and d.reinstated_entry_id is null), 0),
    'failure_code', t.failure_code,
    'created_at', t.created_at, 'updated_at', t.updated_at)
$function$;
