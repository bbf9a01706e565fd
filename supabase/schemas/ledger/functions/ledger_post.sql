-- ledger_post(uuid,text,bigint,text,text,bigint,boolean)
--
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
-- The daily spend is kept exact by ledger_post itself: every entry it posts adds its spend to
-- (spend_day, spend_today) in the same UPDATE that changes the balance. A reader at time t counts
-- spend_today only when spend_day is t's UTC day (else zero): the day boundary needs no job.
--
-- (from 20261123000100_wallet_ledger)
-- Wallet ledger: organisations, wallets, the append-only ledger, HTTP idempotency records,
-- phone numbers, and the money functions. Every money movement goes through ledger_post(),
-- which locks the wallet row, so one organisation's movements are serialised and each
-- balance change is written in the same statement group as its ledger entry.
--
-- (from 20261206000200_number_rental)
-- Monthly number rental (issue 24): the day of the daily spend is the billing clock's
-- (billing_now(): now() in production, moved forward in sandbox mode), and a rent
-- (phone_number_rent) counts in it like a purchase, though no spend control ever refuses one
-- (phone_number_rent_charge does not ask). A credit (any positive amount) on a wallet with a
-- past-due number asks for its rent to be tried again now: one retry_rent outbox row, at most one
-- waiting per organisation (money_outbox_one_rent_retry); the outbox relay queues the rental job.
--
-- Defined in 20261123000100_wallet_ledger, 20261130001100_money_in, 20261130001200_spend_controls, 20261130001500_money_in_meets_spend_controls, 20261206000200_number_rental (the last is current).
--
-- Called by: call_settle_core(), phone_number_rent_charge(), provision_request_create(), provision_request_refund_core(), stripe_payment_succeeded(), stripe_reconcile_payment(), wallet_charge_call(), wallet_credit(), wallet_debit_for_purchase(), wallet_refund().
CREATE OR REPLACE FUNCTION public.ledger_post(p_org_id uuid, p_kind text, p_amount bigint, p_idempotency_key text, p_reference text, p_reverses_entry_id bigint, p_require_funds boolean)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  w wallets%rowtype;
  e ledger_entries%rowtype;
  -- The billing clock's offset (0 outside sandbox mode) and so its UTC day.
  v_offset interval := make_interval(secs => billing_offset_seconds());
  v_day date := ((now() + v_offset) at time zone 'utc')::date;
  v_spend bigint := 0;
begin
  -- The row lock serialises every movement of this wallet: the funds check and the debit are
  -- one decision (failure mode 1), and the key lookup below sees every committed entry.
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;

  select * into e from ledger_entries
   where org_id = p_org_id and idempotency_key = p_idempotency_key;
  if found then
    if e.kind <> p_kind or e.amount <> p_amount
       or e.reverses_entry_id is distinct from p_reverses_entry_id then
      return jsonb_build_object('outcome', 'key_conflict', 'entry_id', e.id);
    end if;
    return ledger_result('replayed', e, w);
  end if;

  if p_require_funds and w.balance + p_amount < 0 then
    return jsonb_build_object(
      'outcome', 'insufficient_funds', 'currency', w.currency, 'balance', w.balance,
      'required', -p_amount, 'shortfall', -p_amount - w.balance, 'version', w.version);
  end if;

  if p_kind in ('call', 'phone_number', 'phone_number_rent') then
    v_spend := -p_amount;
  elsif p_kind = 'phone_number_refund' and exists (
      select 1 from ledger_entries d
       where d.id = p_reverses_entry_id and ((d.created_at + v_offset) at time zone 'utc')::date = v_day) then
    v_spend := -p_amount;
  end if;

  update wallets
     set balance = balance + p_amount, version = version + 1, updated_at = now(),
         spend_today = case when spend_day = v_day then spend_today else 0 end + v_spend,
         spend_day = v_day
   where org_id = p_org_id
  returning * into w;

  insert into ledger_entries
    (org_id, kind, amount, balance_before, balance_after, reference, idempotency_key,
     reverses_entry_id)
  values
    (p_org_id, p_kind, p_amount, w.balance - p_amount, w.balance, p_reference,
     p_idempotency_key, p_reverses_entry_id)
  returning * into e;

  -- Money in (20261130001100): alerts and auto-recharge look at every movement.
  perform wallet_money_watch(p_org_id);
  -- Number rental (20261206000200): money came in and a number waits for its rent.
  if p_amount > 0 and exists (select 1 from phone_numbers n where n.org_id = p_org_id and n.status = 'past_due') then
    insert into money_outbox (org_id, task) values (p_org_id, 'retry_rent') on conflict do nothing;
  end if;
  return ledger_result('posted', e, w);
end $function$;
