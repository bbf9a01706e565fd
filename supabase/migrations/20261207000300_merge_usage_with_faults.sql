-- merge_usage_with_faults: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: call_settle_core, stripe_payment_succeeded.

-- call_settle_core(text,bigint,integer,text)
--
-- The settlement of one call (its report or the sweeper's finding) — the body that was
-- call_settle until 20261130001200_spend_controls renamed it: call_settle wraps it and adds the
-- wallet's `controls` to its answer (read in the same transaction, so the same version).
-- Internal: executable only by its owner.
--
-- Seconds when the report has endedAt but neither startedAt nor durationSeconds (issue 22 item
-- 10): from the call's admission (calls.admitted_at) to that endedAt, clamped to 0..bound; basis
-- admission_to_report_ended, still counted as implausible (reason missing) for review. Records
-- the seconds and rate it billed (call_reports.billed_seconds, billed_rate_per_minute) for the
-- calls list and usage.
--
-- Defined in 20261130000600_call_settle as call_settle; renamed in 20261130001200_spend_controls;
-- replaced in 20261206204000_settle_from_admission_to_ended, 20261206210100_usage_statements_receipts
-- and 20261207000300_merge_usage_with_faults (current).
--
-- Called by: call_settle().
CREATE OR REPLACE FUNCTION public.call_settle_core(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_settled_by text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  w wallets%rowtype;
  r call_reports%rowtype;
  c calls%rowtype;
  e ledger_entries%rowtype;
  v_has_call boolean;
  v_bound numeric;        -- seconds
  v_reported numeric;     -- seconds, as the report gives them (null: missing)
  v_seconds numeric;      -- seconds billed
  v_basis text;
  v_reason text;
  v_units numeric;        -- seconds × rate: the charge is ceil(v_units ÷ 60)
  v_amount bigint;
  v_posted jsonb;
  v_replayed boolean;
begin
  if p_call_id is null or length(p_call_id) not between 1 and 200 then
    raise exception 'call_settle: bad call id' using errcode = '22023';
  end if;
  if p_rate_per_minute is null or p_rate_per_minute <= 0 then
    raise exception 'call_settle: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_grace_seconds is null or p_grace_seconds < 0 then
    raise exception 'call_settle: grace % must be >= 0', p_grace_seconds using errcode = '22023';
  end if;
  if p_settled_by is null or p_settled_by not in ('report', 'sweeper') then
    raise exception 'call_settle: settled_by % must be report or sweeper', p_settled_by
      using errcode = '22023';
  end if;

  -- The report's organisation never changes once recorded: find it, then lock its wallet, then
  -- read everything again under that lock (the lock order of every money function).
  select org_id into v_org from call_reports where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'no_report');
  end if;
  if v_org is null then
    return jsonb_build_object('outcome', 'unattributed');
  end if;
  select * into w from wallets where org_id = v_org for update;
  if not found then
    return jsonb_build_object('outcome', 'no_wallet', 'org_id', v_org);
  end if;
  select * into r from call_reports where call_id = p_call_id for update;

  if r.billed_at is not null then
    select * into e from ledger_entries where id = r.charge_entry_id;
    return jsonb_build_object(
      'outcome', 'already_billed', 'org_id', v_org, 'entry_id', e.id, 'amount', -e.amount,
      'replayed', true, 'balance', w.balance, 'version', w.version, 'currency', w.currency);
  end if;

  select * into c from calls where call_id = p_call_id for update;
  v_has_call := found;
  v_bound := (case when v_has_call then c.max_duration_seconds else 43200 end) + p_grace_seconds;

  -- The report's own figure: timestamps first, else durationSeconds (exact: numeric epochs).
  if r.started_at is not null and r.ended_at is not null then
    v_reported := extract(epoch from r.ended_at) - extract(epoch from r.started_at);
  else
    v_reported := r.duration_seconds;
  end if;

  if v_reported is null then
    v_reason := 'missing';
  elsif v_reported < 0 then
    v_reason := 'negative';
  elsif v_reported > v_bound then
    v_reason := 'beyond_bound';
  end if;

  if v_reason is null then
    v_seconds := v_reported;
    v_basis := 'report';
  elsif v_reason = 'missing' and v_has_call and r.ended_at is not null then
    -- Vapi gave the end but no start (a call object with endedAt and no startedAt, as the sweeper
    -- reads it): from our admission to Vapi's endedAt, never to the report's arrival (for the
    -- sweeper, the sweep time, long after the call: that billed a short call its whole bound).
    v_basis := 'admission_to_report_ended';
    v_seconds := least(v_bound, greatest(0::numeric,
      extract(epoch from r.ended_at) - extract(epoch from c.admitted_at)));
  elsif v_has_call then
    -- Our own record: admission to the ended status-update, else to the report's arrival.
    v_basis := case when c.ended_at is not null then 'admission_to_ended' else 'admission_to_received' end;
    v_seconds := least(v_bound, greatest(0::numeric,
      extract(epoch from coalesce(c.ended_at, r.received_at)) - extract(epoch from c.admitted_at)));
  else
    v_basis := 'none';
    v_seconds := 0;
  end if;

  -- ceil(seconds × rate ÷ 60): the product is exact in numeric; div() is exact integer division.
  v_units := v_seconds * p_rate_per_minute;
  v_amount := div(v_units, 60)::bigint + case when v_units > div(v_units, 60) * 60 then 1 else 0 end;

  -- The hold ends before the charge is posted, in this same transaction: ledger_post looks at
  -- `available` for alerts and auto-recharge, and must not count the call twice (its hold and
  -- its charge). Nobody else sees the state in between (the wallet row is locked).
  update calls set settled_by = p_settled_by, settled_at = now(),
                   hold_state = 'released', released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'billed')
   where call_id = p_call_id and settled_at is null;

  -- An entry under the call's key may exist from an earlier two-step settlement that crashed
  -- before stamping the report: it is the call's charge, reused as it is.
  select * into e from ledger_entries where org_id = v_org and idempotency_key = 'call:' || p_call_id;
  if found then
    v_replayed := true;
  else
    v_posted := ledger_post(v_org, 'call', -v_amount, 'call:' || p_call_id,
      format('call %s: %s ms', p_call_id, round(v_seconds * 1000, 3)), null, false);
    if v_posted->>'outcome' not in ('posted', 'replayed') then
      raise exception 'call_settle: unexpected ledger outcome %', v_posted using errcode = 'XX000';
    end if;
    select * into e from ledger_entries where id = (v_posted->>'entry_id')::bigint;
    select * into w from wallets where org_id = v_org;
    v_replayed := v_posted->>'outcome' = 'replayed';
  end if;

  -- With what the charge was computed from: the calls list and the usage's seconds read them.
  update call_reports set billed_at = now(), charge_entry_id = e.id,
                          billed_seconds = v_seconds, billed_rate_per_minute = p_rate_per_minute
   where call_id = p_call_id;
  -- The call's charge (also for a call the sweeper settled as unknown to Vapi whose report came
  -- after all).
  update calls set charge_entry_id = e.id
   where call_id = p_call_id and charge_entry_id is null;

  return jsonb_build_object(
    'outcome', 'charged', 'org_id', v_org, 'amount', -e.amount,
    'billed_ms', round(v_seconds * 1000, 3), 'seconds_basis', v_basis,
    'implausible', v_reason is not null, 'implausible_reason', v_reason,
    'entry_id', e.id, 'replayed', v_replayed,
    'beyond_debt_limit', e.balance_after < -w.debt_limit, 'balance_after', e.balance_after,
    'balance', w.balance, 'version', w.version, 'currency', w.currency);
end $function$;

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
