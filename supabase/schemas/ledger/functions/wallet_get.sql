-- wallet_get(uuid)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_get: as before, plus frozen, frozen_reason and controls (GET /api/wallet, the cache).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger, 20261130001100_money_in, 20261130001200_spend_controls (the last is current).
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_get(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'org_id', w.org_id, 'currency', w.currency, 'balance', w.balance,
       'debt_limit', w.debt_limit, 'version', w.version, 'updated_at', w.updated_at,
       'frozen', w.frozen, 'frozen_reason', w.frozen_reason, 'controls', wallet_controls_json(w))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
