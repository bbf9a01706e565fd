-- disputes_within_charge_functions: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: stripe_dispute_event, stripe_reconcile_payment.

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

-- stripe_reconcile_payment(text)
--
-- ---------------------------------------------------------------------------------------------
-- stripe_reconcile_payment (internal): applies to the wallet what Stripe said about one
-- PaymentIntent's charges and disputes, once the payment is credited (before that, the facts
-- wait: a refund or dispute never reaches a wallet that never got the money).
-- Effects: topup_refund entries for refunds not yet taken (cumulative amount_refunded less what
--          was taken), a dispute debit once per dispute whose funds were withdrawn, its reversal
--          once when reinstated (only after the debit), the wallet frozen while a dispute of the
--          payment is open and unfrozen when the last dispute that froze it closes.
-- Disputes of one charge (20261206000100_disputes_within_charge; failure mode 44): what they
--          take and have not given back (stripe_charges.dispute_taken) never exceeds the charge's
--          amount (the credited payment's amount), decided under the charge row's lock and held by
--          the stripe_charges_disputes_within_amount check. Reinstatements are applied before
--          withdrawals, so money given back in this pass makes room for them. A withdrawal that
--          does not fit (the charge's amount is already held by another dispute of it: Stripe has
--          one dispute per charge) is not debited and waits; it is debited by a later pass of
--          this payment if the other dispute's funds are reinstated, so one won and one lost
--          dispute of a charge cost the wallet the charge's amount once, in either order. A
--          waiting dispute reinstated before it was ever debited needs nothing.
-- Freezes: every open dispute of the payment freezes the wallet; a closed one (won or lost)
--          releases its freeze, and the wallet is unfrozen only when no dispute of the wallet is
--          still open (so neither another dispute of the same charge nor one of another payment)
--          and the freeze is a dispute's (wallets.frozen_source), never an operator's.
-- Output:  {outcome: applied | pending, org_id}
-- ---------------------------------------------------------------------------------------------
--
-- (from 20261130001100_money_in)
-- The rules this file keeps:
--  * every Stripe event id is recorded (stripe_events) in the transaction of its effect, so a
--    replay changes nothing; every money effect is keyed by the Stripe object it comes from
--    (ledger idempotency keys topup:pi:<payment intent>, topup_refund:<charge>:<cumulative>,
--    dispute:<dispute>, and the unique reverses_entry_id of a dispute_reversal), so two events
--    describing one payment credit it once (failure modes 31, 32);
--  * a refund or dispute that arrives before its payment was credited is kept and applied when
--    the credit lands (stripe_reconcile_payment), never dropped and never credited on its own;
--  * the auto-recharge and alert thresholds are evaluated inside the money movement, under the
--    wallet row lock, against the live available amount (balance - holds): "recharge wanted" and
--    the balance.* events go to an outbox in the same transaction (failure modes 33, 34).
--
-- Defined in 20261130001100_money_in, 20261206203112_disputes_within_charge_functions (the last is current; its
-- tables: 20261206000100_disputes_within_charge).
--
-- Called by: stripe_charge_refunded(), stripe_dispute_event(), stripe_payment_succeeded().
CREATE OR REPLACE FUNCTION public.stripe_reconcile_payment(p_payment_intent_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  t top_ups%rowtype;
  c stripe_charges%rowtype;
  d stripe_disputes%rowtype;
  r jsonb;
  w wallets%rowtype;
  v_released boolean := false;
begin
  select * into t from top_ups where payment_intent_id = p_payment_intent_id and status = 'paid';
  if not found then
    return jsonb_build_object('outcome', 'pending');
  end if;
  -- Lock order: the wallet, then this payment's charges, then its disputes.
  select * into w from wallets where org_id = t.org_id for update;
  for c in select * from stripe_charges where payment_intent_id = p_payment_intent_id
            order by charge_id for update loop
    -- A top-up is one PaymentIntent paid by one charge: the charge's amount is the payment's.
    if c.amount is null then
      update stripe_charges set amount = t.amount where charge_id = c.charge_id;
    end if;
    if c.refunded_seen > c.refunded_taken then
      r := ledger_post(t.org_id, 'topup_refund', -(c.refunded_seen - c.refunded_taken),
                       'topup_refund:' || c.charge_id || ':' || c.refunded_seen,
                       'stripe refund of ' || c.charge_id, null, false);
      if r->>'outcome' not in ('posted', 'replayed') then
        raise exception 'stripe_reconcile_payment: refund not posted %', r using errcode = 'XX000';
      end if;
      update stripe_charges set refunded_taken = refunded_seen where charge_id = c.charge_id;
    end if;
  end loop;

  -- Every open dispute of this payment freezes the wallet.
  for d in select * from stripe_disputes where payment_intent_id = p_payment_intent_id
            order by dispute_id for update loop
    if not d.closed and not d.froze_wallet then
      perform wallet_freeze(t.org_id, 'dispute ' || d.dispute_id, 'stripe_dispute');
      update stripe_disputes set froze_wallet = true where dispute_id = d.dispute_id;
    end if;
  end loop;

  -- Money given back first: a dispute debited and now reinstated, once.
  for d in select * from stripe_disputes where payment_intent_id = p_payment_intent_id
              and reinstated_seen and withdrawn_entry_id is not null and reinstated_entry_id is null
            order by dispute_id loop
    r := ledger_post(t.org_id, 'dispute_reversal', d.amount, 'dispute_reversal:' || d.dispute_id,
                     'stripe dispute ' || d.dispute_id || ' reinstated', d.withdrawn_entry_id, false);
    if r->>'outcome' not in ('posted', 'replayed') then
      raise exception 'stripe_reconcile_payment: dispute reversal not posted %', r using errcode = 'XX000';
    end if;
    update stripe_disputes set reinstated_entry_id = (r->>'entry_id')::bigint where dispute_id = d.dispute_id;
    update stripe_charges set dispute_taken = dispute_taken - d.amount where charge_id = d.charge_id;
  end loop;

  -- Then money taken: a dispute whose funds were withdrawn, once, if its charge has room for it.
  for d in select * from stripe_disputes where payment_intent_id = p_payment_intent_id
              and withdrawn_seen and withdrawn_entry_id is null
            order by dispute_id loop
    -- Under the charge row's lock (taken above): what the charge's other disputes hold now.
    select * into c from stripe_charges where charge_id = d.charge_id;
    continue when not found or c.amount is null or c.amount - c.dispute_taken < d.amount;
    r := ledger_post(t.org_id, 'dispute', -d.amount, 'dispute:' || d.dispute_id,
                     'stripe dispute ' || d.dispute_id, null, false);
    if r->>'outcome' not in ('posted', 'replayed') then
      raise exception 'stripe_reconcile_payment: dispute debit not posted %', r using errcode = 'XX000';
    end if;
    d.withdrawn_entry_id := (r->>'entry_id')::bigint;
    update stripe_disputes set withdrawn_entry_id = d.withdrawn_entry_id where dispute_id = d.dispute_id;
    update stripe_charges set dispute_taken = dispute_taken + d.amount where charge_id = d.charge_id;
    -- Withdrawn and reinstated before the payment was credited: both entries, in order.
    if d.reinstated_seen then
      r := ledger_post(t.org_id, 'dispute_reversal', d.amount, 'dispute_reversal:' || d.dispute_id,
                       'stripe dispute ' || d.dispute_id || ' reinstated', d.withdrawn_entry_id, false);
      if r->>'outcome' not in ('posted', 'replayed') then
        raise exception 'stripe_reconcile_payment: dispute reversal not posted %', r using errcode = 'XX000';
      end if;
      update stripe_disputes set reinstated_entry_id = (r->>'entry_id')::bigint where dispute_id = d.dispute_id;
      update stripe_charges set dispute_taken = dispute_taken - d.amount where charge_id = d.charge_id;
    end if;
  end loop;

  -- A closed dispute (won or lost) releases its freeze.
  for d in select * from stripe_disputes where payment_intent_id = p_payment_intent_id
              and closed and froze_wallet
            order by dispute_id loop
    update stripe_disputes set froze_wallet = false where dispute_id = d.dispute_id;
    v_released := true;
  end loop;
  -- Unfreeze only what a dispute froze, and only when no other dispute of this wallet is open
  -- (another dispute of the same charge included).
  if v_released
     and not exists (select 1 from stripe_disputes x join top_ups y on y.payment_intent_id = x.payment_intent_id
                      where y.org_id = t.org_id and x.froze_wallet)
     -- Who froze it is a column (wallets.frozen_source, 20261130001200), not a pattern in
     -- free text: an operator's reason may begin with "dispute", and an operator who froze
     -- the wallet while a dispute was open took the freeze over (wallet_freeze).
     and (select frozen_source from wallets where org_id = t.org_id) = 'stripe_dispute' then
    perform wallet_unfreeze(t.org_id, 'stripe_dispute');
  end if;
  return jsonb_build_object('outcome', 'applied', 'org_id', t.org_id);
end $function$;
