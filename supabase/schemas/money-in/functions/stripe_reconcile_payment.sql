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
-- Defined in 20261130001100_money_in.
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
begin
  select * into t from top_ups where payment_intent_id = p_payment_intent_id and status = 'paid';
  if not found then
    return jsonb_build_object('outcome', 'pending');
  end if;
  select * into w from wallets where org_id = t.org_id for update;
  for c in select * from stripe_charges where payment_intent_id = p_payment_intent_id
            order by charge_id for update loop
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
  for d in select * from stripe_disputes where payment_intent_id = p_payment_intent_id
            order by dispute_id for update loop
    if not d.closed and not d.froze_wallet then
      perform wallet_freeze(t.org_id, 'dispute ' || d.dispute_id, 'stripe_dispute');
      update stripe_disputes set froze_wallet = true where dispute_id = d.dispute_id;
      d.froze_wallet := true;
    end if;
    if d.withdrawn_seen and d.withdrawn_entry_id is null then
      r := ledger_post(t.org_id, 'dispute', -d.amount, 'dispute:' || d.dispute_id,
                       'stripe dispute ' || d.dispute_id, null, false);
      d.withdrawn_entry_id := (r->>'entry_id')::bigint;
      update stripe_disputes set withdrawn_entry_id = d.withdrawn_entry_id where dispute_id = d.dispute_id;
    end if;
    if d.reinstated_seen and d.withdrawn_entry_id is not null and d.reinstated_entry_id is null then
      r := ledger_post(t.org_id, 'dispute_reversal', d.amount, 'dispute_reversal:' || d.dispute_id,
                       'stripe dispute ' || d.dispute_id || ' reinstated', d.withdrawn_entry_id, false);
      update stripe_disputes set reinstated_entry_id = (r->>'entry_id')::bigint where dispute_id = d.dispute_id;
    end if;
    if d.closed and d.froze_wallet then
      update stripe_disputes set froze_wallet = false where dispute_id = d.dispute_id;
      -- Unfreeze only what a dispute froze, and only when no other dispute of this wallet is open.
      if not exists (select 1 from stripe_disputes x join top_ups y on y.payment_intent_id = x.payment_intent_id
                      where y.org_id = t.org_id and x.froze_wallet)
         -- Who froze it is a column (wallets.frozen_source, 20261130001200), not a pattern in
         -- free text: an operator's reason may begin with "dispute", and an operator who froze
         -- the wallet while a dispute was open took the freeze over (wallet_freeze).
         and (select frozen_source from wallets where org_id = t.org_id) = 'stripe_dispute' then
        perform wallet_unfreeze(t.org_id, 'stripe_dispute');
      end if;
    end if;
  end loop;
  return jsonb_build_object('outcome', 'applied', 'org_id', t.org_id);
end $function$;
