-- stripe_charge_refunded(text,text,text,text,bigint,text)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.stripe_charge_refunded(p_event_id text, p_type text, p_charge_id text, p_payment_intent_id text, p_amount_refunded bigint, p_currency text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r jsonb;
begin
  -- One payment's events one at a time: a refund or dispute that races the payment's credit
  -- would otherwise find no credited top-up (its payment intent is written by the credit) while
  -- the credit does not see the refund's uncommitted row, and neither applies it. Taken first,
  -- before any row lock, by the three functions that touch one payment.
  perform stripe_payment_lock(p_payment_intent_id);
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  perform stripe_lock_payment_wallet(p_payment_intent_id);
  insert into stripe_charges (charge_id, payment_intent_id, currency, refunded_seen)
  values (p_charge_id, p_payment_intent_id, p_currency, p_amount_refunded)
  on conflict (charge_id) do update set refunded_seen = greatest(stripe_charges.refunded_seen, excluded.refunded_seen);
  r := stripe_reconcile_payment(p_payment_intent_id);
  perform stripe_event_done(p_event_id, r->>'outcome', (r->>'org_id')::uuid);
  if r->>'org_id' is not null then
    r := r || jsonb_build_object('wallet', wallet_cache_json((r->>'org_id')::uuid));
  end if;
  return r;
end $function$;
