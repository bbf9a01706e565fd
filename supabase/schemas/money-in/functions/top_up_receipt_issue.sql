-- top_up_receipt_issue(uuid,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- top_up_receipt_issue (internal): the receipt of a paid top-up, issued once.
-- Inputs:  the top-up (paid, and locked by the caller in this transaction); the card's brand and
--          last four digits as Stripe described the payment (each may be null).
-- Output:  the receipt number (R-n is n).
-- Effects: the first time: the next number of the one gap-free series (receipt_counter, its row
--          locked until this transaction ends) and a top_up_receipts row. Later (another event of
--          the same payment): only a card still unknown is filled in.
-- Gap-free: the number is taken by updating receipt_counter, not from a sequence: a transaction
--          that rolls back rolls its number back with it, and the next payment waits on the row
--          lock and takes the next number. Call it LAST in the transaction (after every other
--          lock is taken): whoever holds the counter then waits for nothing, so payments of
--          different wallets queue on it briefly and never deadlock.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: stripe_payment_succeeded().
CREATE OR REPLACE FUNCTION public.top_up_receipt_issue(p_top_up_id uuid, p_card_brand text, p_card_last4 text)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  t top_ups%rowtype;
  v_brand text := case when length(p_card_brand) between 1 and 50 then p_card_brand end;
  v_last4 text := case when p_card_last4 ~ '^[0-9]{4}$' then p_card_last4 end;
  v_number bigint;
begin
  select * into t from top_ups where id = p_top_up_id;
  if not found or t.status <> 'paid' then
    raise exception 'top_up_receipt_issue: top-up % is not paid', p_top_up_id using errcode = 'XX000';
  end if;
  update top_up_receipts
     set card_brand = coalesce(card_brand, v_brand),
         card_last4 = coalesce(card_last4, v_last4)
   where top_up_id = t.id
  returning receipt_number into v_number;
  if found then
    return v_number;
  end if;
  insert into receipt_counter as c (singleton, last_number) values (true, 1)
  on conflict (singleton) do update set last_number = c.last_number + 1
  returning c.last_number into v_number;
  insert into top_up_receipts (receipt_number, top_up_id, org_id, amount, currency, paid_at, card_brand, card_last4)
  values (v_number, t.id, t.org_id, t.amount, t.currency, now(), v_brand, v_last4);
  return v_number;
end $function$;
