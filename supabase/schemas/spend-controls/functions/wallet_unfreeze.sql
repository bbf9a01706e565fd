-- wallet_unfreeze(uuid,text)
--
-- (from 20261130001500_money_in_meets_spend_controls)
-- Joins two changes made side by side (issue 11, money in: 20261130001100; issue 12, spend
-- controls: 20261130001200). Both replaced the same functions; the later file's versions won and
-- dropped the earlier file's hooks. These are the spend-controls versions with the money-in hooks
-- put back:
--   ledger_post        every movement runs the alert / auto-recharge watch (wallet_money_watch);
--   call_gate_admit    so does a hold placed on the Postgres path;
--   wallet_freeze / wallet_unfreeze   the wallet.frozen / wallet.unfrozen events (and, on unfreeze,
--                      the watch, so a recharge wanted while frozen may run), and the argument
--                      checks of the money-in version;
--   wallet_cache_json  what money-in's functions hand to the cache carries the spend controls, so
--                      a write-through from a Stripe event keeps the cached controls.
-- Grants are unchanged (create or replace keeps them).
--
-- (from 20261130001200_spend_controls)
-- wallets.frozen, wallets.frozen_reason, wallet_freeze() and wallet_unfreeze() are shared with
-- money in (20261130001100, Stripe disputes); the final versions are in 20261130001500.
--
-- Defined in 20261130001100_money_in, 20261130001200_spend_controls, 20261130001500_money_in_meets_spend_controls (the last is current).
--
-- Called by: stripe_reconcile_payment(), shared/wallet/spend-controls-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_unfreeze(p_org_id uuid, p_source text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare w wallets%rowtype;
begin
  if p_source is null then
    raise exception 'wallet_unfreeze: a source is required' using errcode = '22023';
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if not w.frozen then
    return org_limits_json(w) || jsonb_build_object('outcome', 'not_frozen');
  end if;
  update wallets
     set frozen = false, frozen_reason = null, frozen_at = null, frozen_source = left(p_source, 100),
         version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  perform wallet_event_emit(p_org_id, 'wallet.unfrozen', jsonb_build_object('source', p_source));
  -- A recharge wanted while frozen may run now.
  perform wallet_money_watch(p_org_id);
  return org_limits_json(w) || jsonb_build_object('outcome', 'unfrozen');
end $function$;
