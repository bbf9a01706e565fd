-- stripe_payment_succeeded(text,text,uuid,uuid,text,bigint,text,text,text,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- stripe_payment_succeeded: a top-up's payment was made (checkout.session.completed with
-- payment_status paid, checkout.session.async_payment_succeeded, payment_intent.succeeded).
-- Inputs:  event id and type, our top-up id (metadata.topUpId), the org Stripe names
--          (metadata.orgId), the PaymentIntent, amount and currency paid, the checkout session
--          (or null), and the saved card (customer, payment method, brand, last4; each nullable).
-- Output:  {outcome: credited | already_credited | duplicate | unknown_organisation | mismatch,
--           org_id, top_up, wallet}
-- Effects: once per event id and once per PaymentIntent (ledger key topup:pi:<id>): one topup
--          entry whose reference is the PaymentIntent id itself (CONTRACT §7: programs reconcile
--          on it), the top-up paid, the card saved, the recharge in flight done (and the outbox
--          row that asked for it closed: the answer to the job that sent it may have been lost),
--          then whatever refunds and disputes of this payment were waiting, and last its receipt:
--          the next number of the gap-free series, in this same transaction
--          (top_up_receipt_issue; a later event of the payment only fills in a card the receipt
--          does not have yet).
-- Reference: "pi_…" exactly since 20261206205000_topup_reference_is_payment_intent (issue 22
--          item 11a). Entries posted before it keep "stripe pi_…": the ledger is append-only
--          (ledger_entries_no_update) and history is not rewritten; their key topup:pi:<id> is
--          the same as ever.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261206205000_topup_reference_is_payment_intent,
-- 20261206210100_usage_statements_receipts, 20261207000100_recharge_outbox_functions,
-- 20261207000200_topup_reference_after_recharge_outbox, 20261207000300_merge_usage_with_faults
-- (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.stripe_payment_succeeded(p_event_id text, p_type text, p_top_up_id uuid, p_org_id uuid, p_payment_intent_id text, p_amount bigint, p_currency text, p_session_id text, p_customer_id text, p_payment_method_id text, p_card_brand text, p_card_last4 text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  t top_ups%rowtype;
  r jsonb;
  v_outcome text;
begin
  -- One payment's events one at a time: a refund or dispute that races the payment's credit
  -- would otherwise find no credited top-up (its payment intent is written by the credit) while
  -- the credit does not see the refund's uncommitted row, and neither applies it. Taken first,
  -- before any row lock, by the three functions that touch one payment.
  perform stripe_payment_lock(p_payment_intent_id);
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  -- Lock order everywhere: wallet, then top-up, then settings/charges/disputes.
  perform 1 from wallets where org_id = (select org_id from top_ups where id = p_top_up_id) for update;
  select * into t from top_ups where id = p_top_up_id for update;
  if not found or t.org_id is distinct from p_org_id then
    perform stripe_event_done(p_event_id, 'unknown_organisation', null);
    return jsonb_build_object('outcome', 'unknown_organisation');
  end if;
  if t.currency <> p_currency or t.amount <> p_amount
     or (t.payment_intent_id is not null and t.payment_intent_id <> p_payment_intent_id)
     or (p_session_id is not null and t.checkout_session_id is not null and t.checkout_session_id <> p_session_id) then
    perform stripe_event_done(p_event_id, 'mismatch', t.org_id);
    return jsonb_build_object('outcome', 'mismatch', 'org_id', t.org_id, 'top_up', top_up_json(t));
  end if;
  -- Even an expired or failed top-up is credited when Stripe says its money was paid: a payment
  -- that happened is money the customer has (a later card after a decline, a race with expiry).
  r := ledger_post(t.org_id, 'topup', p_amount, 'topup:pi:' || p_payment_intent_id,
                   p_payment_intent_id, null, false);
  if r->>'outcome' not in ('posted', 'replayed') then
    raise exception 'stripe_payment_succeeded: ledger outcome %', r using errcode = 'XX000';
  end if;
  v_outcome := case when r->>'outcome' = 'posted' then 'credited' else 'already_credited' end;
  update top_ups
     set status = 'paid', payment_intent_id = p_payment_intent_id, credit_entry_id = (r->>'entry_id')::bigint,
         failure_code = null, failure_message = null, updated_at = now()
   where id = t.id
  returning * into t;
  insert into wallet_money_settings (org_id) values (t.org_id) on conflict (org_id) do nothing;
  update wallet_money_settings
     set stripe_customer_id = coalesce(stripe_customer_id, p_customer_id),
         payment_method_id = coalesce(p_payment_method_id, payment_method_id),
         payment_method_brand = case when p_payment_method_id is not null then p_card_brand else payment_method_brand end,
         payment_method_last4 = case when p_payment_method_id is not null then p_card_last4 else payment_method_last4 end,
         recharge_in_flight = case when recharge_in_flight = t.id then null else recharge_in_flight end,
         recharge_failures = case when t.source = 'auto_recharge' then 0 else recharge_failures end,
         updated_at = now()
   where org_id = t.org_id;
  if t.source = 'auto_recharge' then
    perform auto_recharge_request_done(t.org_id, t.id);
  end if;
  perform stripe_reconcile_payment(p_payment_intent_id);
  -- The receipt last: it locks the one receipt counter every payment shares, so it is taken
  -- after every other lock and held only for the rest of this transaction.
  perform top_up_receipt_issue(t.id, p_card_brand, p_card_last4);
  perform stripe_event_done(p_event_id, v_outcome, t.org_id);
  select * into t from top_ups where id = t.id;
  return jsonb_build_object('outcome', v_outcome, 'org_id', t.org_id, 'top_up', top_up_json(t),
                            'wallet', wallet_cache_json(t.org_id));
end $function$;
