-- org_limits_json(wallets)
--
-- ---------------------------------------------------------------------------------------------
-- org_limits_get / org_limits_set: the operators' limits of one organisation.
-- set: replaces all four (null = none) under the wallet row lock and bumps wallets.version, so
--      the cached wallet hash (which carries them) is rewritten and never overwritten by an older
--      writer. Bounds are the columns' checks (22023/23514 on a violation: the API validates first).
-- Output:  {outcome: found, limits: {...}, balance, version, currency, controls} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001200_spend_controls.
--
-- Called by: org_limits_get(), org_limits_set(), wallet_freeze(), wallet_unfreeze().
CREATE OR REPLACE FUNCTION public.org_limits_json(w wallets)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'outcome', 'found', 'org_id', w.org_id,
    'limits', jsonb_build_object(
      'max_concurrent_calls', w.max_concurrent_calls, 'daily_spend_limit', w.daily_spend_limit,
      'max_call_seconds', w.max_call_seconds, 'max_numbers_per_day', w.max_numbers_per_day),
    'frozen', w.frozen, 'frozen_reason', w.frozen_reason,
    'balance', w.balance, 'version', w.version, 'currency', w.currency,
    'controls', wallet_controls_json(w))
$function$;
