-- usage_statements_receipts: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: call_report_record, call_settle_core, calls_list, ledger_kinds, receipt_number_text, stripe_payment_succeeded, top_up_receipt_get, top_up_receipt_issue, top_ups_list, wallet_statement, wallet_usage.

drop function call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text);

-- call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- call_report_record: keeps the first end-of-call report of a call id.
-- Inputs:  call id, organisation named by the call's metadata (may be null), the called number's
--          Vapi id and E.164 (may be null), startedAt, endedAt, durationSeconds, endedReason, source,
--          and who called whom: the caller's and the called number (each may be null; the called
--          number defaults to the E.164 given, else the number registered under the Vapi id).
-- Output:  {outcome: recorded | duplicate, org_id (or null), billed}.
-- Effects: at most one call_reports row per call id. The organisation is taken from the call's
--          hold, else the metadata (if such an organisation exists), else the number.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls; the numbers since 20261206210100_usage_statements_receipts.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_report_record(p_call_id text, p_org_id uuid, p_vapi_phone_number_id text, p_e164 text, p_started_at timestamp with time zone, p_ended_at timestamp with time zone, p_duration_seconds numeric, p_ended_reason text, p_source text, p_from_number text DEFAULT NULL::text, p_to_number text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  v_to text;
  r call_reports%rowtype;
begin
  select * into r from call_reports where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'duplicate', 'org_id', r.org_id, 'billed', r.billed_at is not null);
  end if;
  select org_id into v_org from calls where call_id = p_call_id;
  if v_org is null and p_org_id is not null then
    select id into v_org from organizations where id = p_org_id;
  end if;
  if v_org is null then
    v_org := (phone_number_resolve(p_vapi_phone_number_id, p_e164)->>'org_id')::uuid;
  end if;
  v_to := coalesce(p_to_number, p_e164);
  if v_to is null and p_vapi_phone_number_id is not null then
    select e164 into v_to from phone_numbers where vapi_phone_number_id = p_vapi_phone_number_id
     order by released_at desc nulls first limit 1;
  end if;
  -- Numbers are what the calls list shows: kept only when they fit (anything else reads as absent).
  insert into call_reports (call_id, org_id, started_at, ended_at, duration_seconds, ended_reason, source,
                            from_number, to_number)
  values (p_call_id, v_org, p_started_at, p_ended_at, p_duration_seconds, left(p_ended_reason, 200), p_source,
          case when length(p_from_number) between 1 and 40 then p_from_number end,
          case when length(v_to) between 1 and 40 then v_to end)
  on conflict (call_id) do nothing
  returning * into r;
  if not found then
    select * into r from call_reports where call_id = p_call_id;
    return jsonb_build_object('outcome', 'duplicate', 'org_id', r.org_id, 'billed', r.billed_at is not null);
  end if;
  return jsonb_build_object('outcome', 'recorded', 'org_id', v_org, 'billed', false);
end $function$;

-- call_settle_core(text,bigint,integer,text)
--
-- The settlement of one call (its report or the sweeper's finding) — the body that was
-- call_settle until 20261130001200_spend_controls renamed it: call_settle wraps it and adds the
-- wallet's `controls` to its answer (read in the same transaction, so the same version).
-- Internal: executable only by its owner.
--
-- Defined in 20261130000600_call_settle as call_settle; renamed in 20261130001200_spend_controls;
-- records billed_seconds and billed_rate_per_minute since 20261206210100_usage_statements_receipts.
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

-- calls_list(uuid,timestamp with time zone,text,integer,bigint)
--
-- ---------------------------------------------------------------------------------------------
-- calls_list: one page of an organisation's calls, newest first (GET /api/calls, CONTRACT §12).
-- Inputs:  org; the keyset cursor (admitted_at and call_id of the last call of the previous page,
--          exactly as this function returned them; both null for the first page); page size
--          (1..1000); the rate per minute a call not billed yet will be charged at (inbound calls:
--          CALL_RATE_PER_MINUTE, from Config.pricing — no price lives in SQL).
-- Output:  {items: [{call_id, admitted_at, direction, from, to, started_at, ended_at, seconds,
--           amount, rate_per_minute, status}]} ordered by (admitted_at, call_id) descending.
--          One item per calls row (every call that passed the gate). direction: 'inbound' (calls
--          has no direction column yet; outbound calls, CONTRACT §10, will add one, read here).
--          from/to: the report's numbers (null until the report came). started_at/ended_at: the
--          report's when it has both and they are in order, else our own record (admission, the
--          ended status-update). seconds: the billed seconds rounded up to a whole second, null
--          until billed. amount: the charge's ledger amount (signed: a charge is negative; 0 for a
--          call of no seconds), null until billed. rate_per_minute: the rate the charge used, else
--          p_rate_per_minute. status: in_progress | ended (its charge still to come) | billed |
--          not_billed (Vapi had no record of the call: nothing was charged).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/usage/usage-store.ts.
CREATE OR REPLACE FUNCTION public.calls_list(p_org_id uuid, p_before_admitted_at timestamp with time zone, p_before_call_id text, p_limit integer, p_rate_per_minute bigint)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'call_id', c.call_id,
           'admitted_at', c.admitted_at,
           'direction', 'inbound',
           'from', r.from_number,
           'to', r.to_number,
           'started_at', case when r.started_at is not null and r.ended_at >= r.started_at
                              then r.started_at else c.admitted_at end,
           'ended_at', case when r.started_at is not null and r.ended_at >= r.started_at
                            then r.ended_at else c.ended_at end,
           'seconds', case when e.id is not null then ceil(coalesce(r.billed_seconds, 0))::bigint end,
           'amount', e.amount,
           'rate_per_minute', coalesce(r.billed_rate_per_minute, p_rate_per_minute),
           'status', case when e.id is not null then 'billed'
                          when c.settled_by = 'not_found' then 'not_billed'
                          when c.ended_at is not null or c.hold_state = 'released' or r.call_id is not null then 'ended'
                          else 'in_progress' end)
         order by c.admitted_at desc, c.call_id desc), '[]'::jsonb))
    from (select * from calls
           where org_id = p_org_id
             and (p_before_admitted_at is null
                  or (admitted_at, call_id) < (p_before_admitted_at, p_before_call_id))
           order by admitted_at desc, call_id desc
           limit least(greatest(p_limit, 1), 1000)) c
    left join call_reports r on r.call_id = c.call_id
    left join ledger_entries e on e.id = coalesce(c.charge_entry_id, r.charge_entry_id)
$function$;

-- ledger_kinds()
--
-- ---------------------------------------------------------------------------------------------
-- ledger_kinds: every ledger entry kind, the usage bucket it is counted in and the words a
-- statement describes it with. THE one place a kind is mapped to a bucket (CONTRACT §12):
-- wallet_usage sums each day's entries by this bucket, and wallet_statement describes each row
-- with this description; test/usage/ledger-kinds.test.ts fails when the ledger allows a kind
-- (ledger_entries_kind_sign) that is not listed here.
-- Output:  rows (kind, usage_bucket, description); usage_bucket one of
--          calls     — call charges;
--          numbers   — what phone numbers cost: the purchase (phone_number) and the monthly rent
--                      (phone_number_rent, CONTRACT §11, listed before the ledger allows it);
--          refunds   — money given back to the wallet for something it paid for (a purchase
--                      refunded, phone_number_refund);
--          top_ups   — money in through Stripe or an operator (topup), less what Stripe took back
--                      from it (topup_refund, dispute) and gave back again (dispute_reversal).
--          Every kind is in exactly one bucket, so a day's four buckets add up to that day's net
--          movement of the wallet.
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: wallet_usage(), wallet_statement().
CREATE OR REPLACE FUNCTION public.ledger_kinds()
 RETURNS TABLE(kind text, usage_bucket text, description text)
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  values
    ('call',                'calls',   'Call'),
    ('phone_number',        'numbers', 'Phone number purchase'),
    ('phone_number_rent',   'numbers', 'Phone number monthly rent'),
    ('phone_number_refund', 'refunds', 'Phone number purchase refunded'),
    ('topup',               'top_ups', 'Top-up'),
    ('topup_refund',        'top_ups', 'Top-up refunded to the card'),
    ('dispute',             'top_ups', 'Card payment disputed'),
    ('dispute_reversal',    'top_ups', 'Dispute decided for you: money returned')
$function$;

-- receipt_number_text(bigint)
--
-- How a receipt number is written (CONTRACT §12): 'R-' and at least six digits, R-000001 for 1,
-- R-1234567 past a million (never cut short).
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: top_up_receipt_get(), top_ups_list().
CREATE OR REPLACE FUNCTION public.receipt_number_text(p_number bigint)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select 'R-' || lpad(p_number::text, greatest(6, length(p_number::text)), '0')
$function$;

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
--          entry, the top-up paid, the card saved, the recharge in flight done, then whatever
--          refunds and disputes of this payment were waiting, and last its receipt: the next
--          number of the gap-free series, in this same transaction (top_up_receipt_issue; a later
--          event of the payment only fills in a card the receipt does not have yet).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in; the receipt since 20261206210100_usage_statements_receipts.
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
                   'stripe ' || p_payment_intent_id, null, false);
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
  perform stripe_reconcile_payment(p_payment_intent_id);
  -- The receipt last: it locks the one receipt counter every payment shares, so it is taken
  -- after every other lock and held only for the rest of this transaction.
  perform top_up_receipt_issue(t.id, p_card_brand, p_card_last4);
  perform stripe_event_done(p_event_id, v_outcome, t.org_id);
  select * into t from top_ups where id = t.id;
  return jsonb_build_object('outcome', v_outcome, 'org_id', t.org_id, 'top_up', top_up_json(t),
                            'wallet', wallet_cache_json(t.org_id));
end $function$;

-- top_up_receipt_get(uuid,uuid)
--
-- ---------------------------------------------------------------------------------------------
-- top_up_receipt_get: the receipt of one paid top-up of one organisation
-- (GET /api/wallet/top-ups/:id/receipt, CONTRACT §12).
-- Output:  {outcome: found, receipt: {receipt_number ('R-000001'), top_up_id, amount, currency,
--           paid_at, card_brand, card_last4}} | {outcome: not_found} (no such top-up, another
--          organisation's, or not paid: a receipt exists only once the payment was credited).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.top_up_receipt_get(p_org_id uuid, p_top_up_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'receipt', jsonb_build_object(
              'receipt_number', receipt_number_text(x.receipt_number), 'top_up_id', x.top_up_id,
              'amount', x.amount, 'currency', x.currency, 'paid_at', x.paid_at,
              'card_brand', x.card_brand, 'card_last4', x.card_last4))
       from top_up_receipts x where x.top_up_id = p_top_up_id and x.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;

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

-- top_ups_list(uuid,timestamp with time zone,uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- top_ups_list: one page of an organisation's top-ups, newest first, each with its receipt number
-- once paid (GET /api/wallet/top-ups; the billing page's receipt links, CONTRACT §12).
-- Inputs:  org; the keyset cursor (created_at and id of the last top-up of the previous page,
--          exactly as returned; both null for the first page); page size (1..1000).
-- Output:  {items: [top_up_json(t) + {receipt_number: 'R-000001' | null}]} ordered by
--          (created_at, id) descending.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.top_ups_list(p_org_id uuid, p_before_created_at timestamp with time zone, p_before_id uuid, p_limit integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('items', coalesce(jsonb_agg(
           top_up_json(t) || jsonb_build_object('receipt_number',
             (select receipt_number_text(x.receipt_number) from top_up_receipts x where x.top_up_id = t.id))
         order by t.created_at desc, t.id desc), '[]'::jsonb))
    from top_ups t
   where t.id in (select id from top_ups
                   where org_id = p_org_id
                     and (p_before_created_at is null or (created_at, id) < (p_before_created_at, p_before_id))
                   order by created_at desc, id desc
                   limit least(greatest(p_limit, 1), 1000))
$function$;

-- wallet_statement(uuid,date,bigint,bigint,integer)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_statement: one calendar month (UTC) of an organisation's ledger, for the CSV statement
-- (GET /api/wallet/statement, CONTRACT §12), read page by page.
-- Inputs:  org; the month's first day; p_through_id: null for the first page, then the
--          through_id the first page returned; p_after_id: the last entry id of the previous page
--          (null for the first); page size 1..5000.
-- Output:  {outcome: found, currency, entries: [{id, created_at, kind, reference, description,
--           amount, balance_after}]} ordered by id (the ledger's own order, in which each entry
--          starts where the previous one ended), and on the first page also
--          {through_id, opening, closing, count, period_start, period_end}
--          | {outcome: not_found} (no wallet).
--          The month holds the entries whose created_at (UTC) falls in it; opening is the sum of
--          every entry before the month, closing = opening + the sum of the month's entries, so
--          closing − opening is exactly the sum of the rows. balance_after is the entry's own
--          column (ledger_post wrote it under the wallet lock). description is ledger_kinds()'s.
-- A consistent cut: the first page takes the wallet row FOR SHARE (every ledger_post holds it FOR
-- UPDATE from before its entry's id is drawn until it commits), so once it is granted no entry
-- is in flight, through_id = the newest entry id, and every later page reads only ids up to it:
-- the rows, the opening and the closing describe one state of the ledger even while calls are
-- charged during the export. (The share lock is held for the first page's few index reads.)
-- Effects: none (the share lock ends with the call's transaction).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/usage/usage-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_statement(p_org_id uuid, p_month date, p_through_id bigint, p_after_id bigint, p_limit integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_currency text;
  v_start timestamptz;
  v_end timestamptz;
  v_through bigint := p_through_id;
  v_opening bigint;
  v_moved bigint;
  v_count bigint;
  v_head jsonb := '{}'::jsonb;
begin
  if p_month is null or p_month <> date_trunc('month', p_month)::date then
    raise exception 'wallet_statement: % is not the first day of a month', p_month using errcode = '22023';
  end if;
  if p_limit is null or p_limit not between 1 and 5000 then
    raise exception 'wallet_statement: page size % out of 1..5000', p_limit using errcode = '22023';
  end if;
  v_start := p_month::timestamp at time zone 'UTC';
  v_end := (p_month + interval '1 month')::timestamp at time zone 'UTC';
  if v_through is null then
    select currency into v_currency from wallets where org_id = p_org_id for share;
    if not found then
      return jsonb_build_object('outcome', 'not_found');
    end if;
    select coalesce(max(id), 0) into v_through from ledger_entries where org_id = p_org_id;
    select coalesce(sum(amount), 0) into v_opening
      from ledger_entries where org_id = p_org_id and created_at < v_start and id <= v_through;
    select coalesce(sum(amount), 0), count(*) into v_moved, v_count
      from ledger_entries
     where org_id = p_org_id and created_at >= v_start and created_at < v_end and id <= v_through;
    v_head := jsonb_build_object('through_id', v_through, 'opening', v_opening,
                                 'closing', v_opening + v_moved, 'count', v_count,
                                 'period_start', v_start, 'period_end', v_end);
  else
    select currency into v_currency from wallets where org_id = p_org_id;
    if not found then
      return jsonb_build_object('outcome', 'not_found');
    end if;
  end if;
  return v_head || jsonb_build_object('outcome', 'found', 'currency', v_currency, 'entries', (
    select coalesce(jsonb_agg(jsonb_build_object(
             'id', e.id, 'created_at', e.created_at, 'kind', e.kind, 'reference', e.reference,
             'description', coalesce(k.description, e.kind), 'amount', e.amount,
             'balance_after', e.balance_after) order by e.id), '[]'::jsonb)
      from (select * from ledger_entries
             where org_id = p_org_id and created_at >= v_start and created_at < v_end
               and id <= v_through and id > coalesce(p_after_id, 0)
             order by id
             limit p_limit) e
      left join ledger_kinds() k on k.kind = e.kind));
end $function$;

-- wallet_usage(uuid,date,date)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_usage: an organisation's usage per UTC day (GET /api/wallet/usage, CONTRACT §12).
-- Inputs:  org, first and last day (inclusive, UTC calendar days, at most 366 days; the API
--          refuses anything else with 400 before asking, and this raises 22023 if asked).
-- Output:  {outcome: found, currency, days: [{date, calls: {count, seconds, amount},
--           numbers: {amount}, top_ups: {amount}, refunds: {amount}}]} with every day of the range,
--          oldest first, zeros included | {outcome: not_found} (no wallet).
--          Each amount is the sum of that day's ledger entries of the bucket's kinds
--          (ledger_kinds(), the one kind→bucket map), signed as in the ledger (debits negative),
--          by the entry's created_at in UTC. calls.count is the number of call charges that day;
--          calls.seconds the sum of their billed seconds, each rounded up to a whole second (a
--          charge whose seconds were never recorded counts 0).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/usage/usage-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_usage(p_org_id uuid, p_from date, p_to date)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_currency text;
begin
  if p_from is null or p_to is null or p_to < p_from or p_to - p_from >= 366 then
    raise exception 'wallet_usage: % .. % is not a range of 1 to 366 days', p_from, p_to using errcode = '22023';
  end if;
  select currency into v_currency from wallets where org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'found', 'currency', v_currency, 'days', (
    select jsonb_agg(jsonb_build_object(
             'date', to_char(d.day, 'YYYY-MM-DD'),
             'calls', jsonb_build_object('count', coalesce(a.calls_count, 0),
                                         'seconds', coalesce(a.calls_seconds, 0),
                                         'amount', coalesce(a.calls_amount, 0)),
             'numbers', jsonb_build_object('amount', coalesce(a.numbers_amount, 0)),
             'top_ups', jsonb_build_object('amount', coalesce(a.top_ups_amount, 0)),
             'refunds', jsonb_build_object('amount', coalesce(a.refunds_amount, 0)))
           order by d.day)
      from generate_series(p_from, p_to, interval '1 day') as d(day)
      left join (
        select (e.created_at at time zone 'UTC')::date as day,
               count(*) filter (where k.usage_bucket = 'calls') as calls_count,
               (sum(ceil(coalesce(r.billed_seconds, 0))) filter (where k.usage_bucket = 'calls'))::bigint as calls_seconds,
               (sum(e.amount) filter (where k.usage_bucket = 'calls'))::bigint as calls_amount,
               (sum(e.amount) filter (where k.usage_bucket = 'numbers'))::bigint as numbers_amount,
               (sum(e.amount) filter (where k.usage_bucket = 'top_ups'))::bigint as top_ups_amount,
               (sum(e.amount) filter (where k.usage_bucket = 'refunds'))::bigint as refunds_amount
          from ledger_entries e
          join ledger_kinds() k on k.kind = e.kind
          left join call_reports r on e.kind = 'call' and r.charge_entry_id = e.id
         where e.org_id = p_org_id
           and e.created_at >= p_from::timestamp at time zone 'UTC'
           and e.created_at < (p_to + 1)::timestamp at time zone 'UTC'
         group by 1) a on a.day = d.day::date));
end $function$;

revoke all on function call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text,text,text) from public, anon, authenticated, service_role;
grant execute on function call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text,text,text) to service_role;
revoke all on function calls_list(uuid,timestamp with time zone,text,integer,bigint) from public, anon, authenticated, service_role;
grant execute on function calls_list(uuid,timestamp with time zone,text,integer,bigint) to service_role;
revoke all on function top_up_receipt_get(uuid,uuid) from public, anon, authenticated, service_role;
grant execute on function top_up_receipt_get(uuid,uuid) to service_role;
revoke all on function top_ups_list(uuid,timestamp with time zone,uuid,integer) from public, anon, authenticated, service_role;
grant execute on function top_ups_list(uuid,timestamp with time zone,uuid,integer) to service_role;
revoke all on function wallet_statement(uuid,date,bigint,bigint,integer) from public, anon, authenticated, service_role;
grant execute on function wallet_statement(uuid,date,bigint,bigint,integer) to service_role;
revoke all on function wallet_usage(uuid,date,date) from public, anon, authenticated, service_role;
grant execute on function wallet_usage(uuid,date,date) to service_role;
