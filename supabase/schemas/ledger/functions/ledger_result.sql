-- ledger_result(text,ledger_entries,wallets)
--
-- ---------------------------------------------------------------------------------------------
-- ledger_result: as before, plus `controls` (wallet_controls_json) so that every write-through
-- of a posted entry carries the whole cached wallet at that version.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger, 20261130001100_money_in, 20261130001200_spend_controls (the last is current).
--
-- Called by: ledger_post().
CREATE OR REPLACE FUNCTION public.ledger_result(p_outcome text, e ledger_entries, w wallets)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE
AS $function$
  select jsonb_build_object(
    'outcome', p_outcome, 'entry_id', e.id, 'kind', e.kind, 'amount', e.amount,
    'balance_before', e.balance_before, 'balance_after', e.balance_after,
    'created_at', e.created_at,
    -- The wallet now (for the cache), which after a replay may differ from balance_after.
    'balance', w.balance, 'version', w.version, 'currency', w.currency,
    'debt_limit', w.debt_limit, 'controls', wallet_controls_json(w))
$function$;
