-- wallet_controls_json(wallets)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_controls_json (internal): the part of the cached wallet hash beyond balance, version
-- and currency. spend_day is days since 1970-01-01 (UTC), as the Lua scripts compute from `now`.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001200_spend_controls.
--
-- Called by: call_gate_snapshot(), call_settle(), ledger_result(), org_limits_json(), provision_request_refund(), wallet_cache_json(), wallet_get().
CREATE OR REPLACE FUNCTION public.wallet_controls_json(w wallets)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'frozen', w.frozen,
    'spend_day', coalesce(w.spend_day - date '1970-01-01', 0),
    'spend', case when w.spend_day is null then 0 else w.spend_today end,
    'max_concurrent_calls', w.max_concurrent_calls,
    'daily_spend_limit', w.daily_spend_limit,
    'max_call_seconds', w.max_call_seconds,
    'max_numbers_per_day', w.max_numbers_per_day)
$function$;
