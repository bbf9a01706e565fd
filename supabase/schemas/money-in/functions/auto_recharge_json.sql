-- auto_recharge_json(wallet_money_settings)
--
-- ---------------------------------------------------------------------------------------------
-- Auto-recharge.
-- auto_recharge_settings_get / _put: Inputs org (and enabled, threshold, amount).
--   Output {outcome: found | no_payment_method | not_found, settings}. Turning it on resets the
--   failure count; the rule is evaluated at once (the wallet may already be below).
-- auto_recharge_claim: the worker's step for a "recharge wanted". Under the wallet lock:
--   Output {outcome: claimed | resume (a pending one to submit again, same idempotency key),
--           top_up, customer_id, payment_method_id}
--   | {outcome: cooldown, retry_after_ms} | {outcome: in_flight | not_needed | off | frozen}
--   Effects: at most one recharge in flight per wallet; none within p_cooldown_seconds of the
--   last one started.
-- auto_recharge_failed: a card-level failure of one recharge (once per recharge).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in.
--
-- Called by: auto_recharge_settings_get(), auto_recharge_settings_put().
CREATE OR REPLACE FUNCTION public.auto_recharge_json(s wallet_money_settings)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('enabled', s.recharge_enabled, 'threshold', s.recharge_threshold,
    'amount', s.recharge_amount, 'failures_in_a_row', s.recharge_failures,
    'currency', (select currency from wallets where org_id = s.org_id),
    'payment_method', case when s.payment_method_id is null then null
                           else jsonb_build_object('brand', s.payment_method_brand, 'last4', s.payment_method_last4) end)
$function$;
