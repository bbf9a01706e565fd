-- stripe_dispute_event(text,text,text,text,text,bigint,text,text)
--
-- Every dispute names its charge (Stripe's Dispute.charge is never null; a null one is refused),
-- and the charge gets its stripe_charges row with the dispute's first event: that row bounds what
-- the charge's disputes may take (stripe_reconcile_payment). A charge already known under another
-- PaymentIntent, or a dispute already known under another charge, is a mismatch: recorded, nothing
-- applied.
--
-- Defined in 20261130001100_money_in, 20261206203112_disputes_within_charge_functions (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.stripe_dispute_event(p_event_id text, p_type text, p_dispute_id text, p_charge_id text, p_payment_intent_id text, p_amount bigint, p_currency text, p_status text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  r jsonb;
  v_charge_pi text;
  v_dispute_charge text;
begin
  if p_type not in ('charge.dispute.created', 'charge.dispute.funds_withdrawn',
                    'charge.dispute.funds_reinstated', 'charge.dispute.closed', 'charge.dispute.updated') then
    raise exception 'stripe_dispute_event: type % is not a dispute event', p_type using errcode = '22023';
  end if;
  if p_charge_id is null then
    raise exception 'stripe_dispute_event: dispute % names no charge', p_dispute_id using errcode = '22023';
  end if;
  -- One payment's events one at a time: a refund or dispute that races the payment's credit
  -- would otherwise find no credited top-up (its payment intent is written by the credit) while
  -- the credit does not see the refund's uncommitted row, and neither applies it. Taken first,
  -- before any row lock, by the three functions that touch one payment.
  perform stripe_payment_lock(p_payment_intent_id);
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  perform stripe_lock_payment_wallet(p_payment_intent_id);
  insert into stripe_charges (charge_id, payment_intent_id, currency)
  values (p_charge_id, p_payment_intent_id, p_currency)
  on conflict (charge_id) do nothing;
  select payment_intent_id into v_charge_pi from stripe_charges where charge_id = p_charge_id;
  select charge_id into v_dispute_charge from stripe_disputes where dispute_id = p_dispute_id;
  if v_charge_pi <> p_payment_intent_id or v_dispute_charge <> p_charge_id then
    perform stripe_event_done(p_event_id, 'mismatch', null);
    return jsonb_build_object('outcome', 'mismatch');
  end if;
  insert into stripe_disputes (dispute_id, payment_intent_id, charge_id, amount, currency, status,
                               closed, withdrawn_seen, reinstated_seen)
  values (p_dispute_id, p_payment_intent_id, p_charge_id, p_amount, p_currency, p_status,
          p_type = 'charge.dispute.closed', p_type = 'charge.dispute.funds_withdrawn',
          p_type = 'charge.dispute.funds_reinstated')
  on conflict (dispute_id) do update
     set charge_id = coalesce(stripe_disputes.charge_id, excluded.charge_id),
         closed = stripe_disputes.closed or excluded.closed,
         withdrawn_seen = stripe_disputes.withdrawn_seen or excluded.withdrawn_seen,
         reinstated_seen = stripe_disputes.reinstated_seen or excluded.reinstated_seen,
         status = case when excluded.closed then excluded.status else stripe_disputes.status end;
  r := stripe_reconcile_payment(p_payment_intent_id);
  perform stripe_event_done(p_event_id, r->>'outcome', (r->>'org_id')::uuid);
  if r->>'org_id' is not null then
    r := r || jsonb_build_object('wallet', wallet_cache_json((r->>'org_id')::uuid));
  end if;
  return r;
end $function$;
