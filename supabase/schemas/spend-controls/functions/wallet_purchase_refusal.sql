-- wallet_purchase_refusal(wallets,bigint,timestamp with time zone)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_purchase_refusal (internal): why a purchase of p_price must be refused, or null.
-- Call under the wallet row lock. Order: frozen, then maxNumbersPerDay, then dailySpendLimit
-- (posted spend of today + holds of calls in progress + the price); funds are ledger_post's.
-- Output:  {outcome: wallet_frozen} | {outcome: limit_reached, limit} | null.
-- "Today" is the billing clock's UTC day (issue 24): p_now moved by billing_offset_seconds().
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001200_spend_controls, 20261206000200_number_rental (the last is current).
--
-- Called by: provision_request_create(), wallet_debit_for_purchase().
CREATE OR REPLACE FUNCTION public.wallet_purchase_refusal(w wallets, p_price bigint, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_offset interval := make_interval(secs => billing_offset_seconds());
begin
  if w.frozen then
    return jsonb_build_object('outcome', 'wallet_frozen');
  end if;
  if w.max_numbers_per_day is not null and (
       select count(*) from provisioning_requests r
        where r.org_id = w.org_id
          and r.created_at >= (date_trunc('day', (p_now + v_offset) at time zone 'utc') at time zone 'utc') - v_offset
          and r.status not in ('failed', 'refunded')) >= w.max_numbers_per_day then
    return jsonb_build_object('outcome', 'limit_reached', 'limit', 'maxNumbersPerDay');
  end if;
  if w.daily_spend_limit is not null
     and wallet_spent_on(w, p_now) + call_holds_sum(w.org_id, p_now) + p_price > w.daily_spend_limit then
    return jsonb_build_object('outcome', 'limit_reached', 'limit', 'dailySpendLimit');
  end if;
  return null;
end $function$;
