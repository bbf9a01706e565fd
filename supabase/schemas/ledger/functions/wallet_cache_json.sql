-- wallet_cache_json(uuid)
--
-- The wallet as the cache needs it (internal).
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
-- Defined in 20261130001100_money_in, 20261130001500_money_in_meets_spend_controls (the last is current).
--
-- Called by: phone_number_rent_charge(), stripe_charge_refunded(), stripe_dispute_event(), stripe_payment_succeeded().
CREATE OR REPLACE FUNCTION public.wallet_cache_json(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('balance', w.balance, 'version', w.version, 'currency', w.currency,
                            'frozen', w.frozen, 'controls', wallet_controls_json(w))
    from wallets w where w.org_id = p_org_id
$function$;
