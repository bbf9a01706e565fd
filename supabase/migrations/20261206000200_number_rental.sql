-- number_rental: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: billing_clock_advance, billing_clock_get, billing_now, billing_offset_seconds, ledger_post, phone_number_json, phone_number_release_begin, phone_number_release_finish, phone_number_rent_charge, phone_number_resolve, phone_numbers_list, phone_numbers_rent_due, provision_request_complete, rent_period_start, wallet_purchase_refusal, wallet_spent_on.

-- billing_clock_advance(bigint)
--
-- ---------------------------------------------------------------------------------------------
-- billing_clock_advance: moves the billing clock forward (POST /api/admin/clock, sandbox mode
-- only: the route answers 404 elsewhere and never calls this).
-- Inputs:  seconds, 1..31622400 (366 days) per move.
-- Output:  {outcome: advanced, now, offset_seconds}
--          | {outcome: limit_reached, now, offset_seconds, max_offset_seconds}: the clock would
--            run more than ten years ahead (billing_clock's CHECK); nothing moved.
-- Effects: adds the seconds to the one row (created at 0 on first use). Only forward: a period
--          already charged is never charged again, and nothing is ever un-charged. Concurrent
--          moves add up (the row lock orders them).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.billing_clock_advance(p_seconds bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_max constant bigint := 315576000;
  v_offset bigint;
begin
  if p_seconds is null or p_seconds < 1 or p_seconds > 31622400 then
    raise exception 'billing_clock_advance: seconds % out of range 1..31622400', p_seconds
      using errcode = '22023';
  end if;
  insert into billing_clock (id, offset_seconds) values (true, 0) on conflict (id) do nothing;
  update billing_clock set offset_seconds = offset_seconds + p_seconds, updated_at = now()
   where id and offset_seconds + p_seconds <= v_max
  returning offset_seconds into v_offset;
  if not found then
    v_offset := billing_offset_seconds();
    return jsonb_build_object('outcome', 'limit_reached', 'now', now() + make_interval(secs => v_offset),
                              'offset_seconds', v_offset, 'max_offset_seconds', v_max);
  end if;
  return jsonb_build_object('outcome', 'advanced', 'now', now() + make_interval(secs => v_offset),
                            'offset_seconds', v_offset);
end $function$;

-- billing_clock_get()
--
-- ---------------------------------------------------------------------------------------------
-- billing_clock_get: the billing clock (GET /api/admin/clock; every process's cached offset).
-- Inputs:  none.
-- Output:  {now, offset_seconds}.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.billing_clock_get()
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_offset bigint := billing_offset_seconds();
begin
  return jsonb_build_object('now', now() + make_interval(secs => v_offset), 'offset_seconds', v_offset);
end $function$;

-- billing_now()
--
-- ---------------------------------------------------------------------------------------------
-- billing_now (internal): the service's billing clock, now() + billing_offset_seconds(). Every
-- rental period, grace period and the daily spend day are read on it, in SQL; the TypeScript side
-- reads the same offset (shared/rental/billing-clock.ts) for the Redis gate's spend day. Sandbox
-- mode moves it forward with billing_clock_advance (POST /api/admin/clock); elsewhere it is now().
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: phone_number_rent_charge(), phone_numbers_rent_due(), provision_request_complete().
CREATE OR REPLACE FUNCTION public.billing_now()
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return now() + make_interval(secs => billing_offset_seconds());
end $function$;

-- billing_offset_seconds()
--
-- ---------------------------------------------------------------------------------------------
-- billing_offset_seconds (internal): how far the billing clock runs ahead of now(), in seconds.
-- Inputs:  none.
-- Output:  the one row of billing_clock (0 when it has none: every deployment outside sandbox
--          mode, where nothing may move the clock).
-- Effects: none. plpgsql, not `language sql`: ledger_post and wallet_spent_on (the call gate's
--          Postgres path) call it, and a security-definer sql function is re-planned per call
--          (test/calls/hot-helpers.test.ts).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: billing_clock_advance(), billing_clock_get(), billing_now(), ledger_post(), wallet_purchase_refusal(), wallet_spent_on().
CREATE OR REPLACE FUNCTION public.billing_offset_seconds()
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return coalesce((select c.offset_seconds from billing_clock c where c.id), 0);
end $function$;

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

-- phone_number_json(phone_numbers,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_json (internal): a number and its rental terms, as the service reads them.
-- Inputs:  the row, NUMBER_GRACE_DAYS in seconds.
-- Output:  {id, org_id, e164, status, source, vapi_phone_number_id, twilio_sid, rent_anchor,
--          paid_months, paid_until, next_charge_at (paid_until while active or past due: when the
--          next month is charged, or since when it is overdue; else null), release_at (a past-due
--          number's end of grace: released then unless paid; else null), past_due_since,
--          release_reason, released_at, created_at}.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: phone_number_release_begin(), phone_number_release_finish(), phone_number_rent_charge(), phone_numbers_list().
CREATE OR REPLACE FUNCTION public.phone_number_json(n phone_numbers, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE
AS $function$
  select jsonb_build_object(
    'id', n.id, 'org_id', n.org_id, 'e164', n.e164, 'status', n.status, 'source', n.source,
    'vapi_phone_number_id', n.vapi_phone_number_id, 'twilio_sid', n.twilio_sid,
    'rent_anchor', n.rent_anchor, 'paid_months', n.paid_months, 'paid_until', n.paid_until,
    'next_charge_at', case when n.status in ('active', 'past_due') then n.paid_until end,
    'release_at', case when n.status = 'past_due'
                       then n.past_due_since + make_interval(secs => p_grace_seconds) end,
    'past_due_since', n.past_due_since, 'release_reason', n.release_reason,
    'released_at', n.released_at, 'created_at', n.created_at)
$function$;

-- phone_number_release_begin(uuid,uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_release_begin: the customer gives a number up (DELETE /api/numbers/:id).
-- Inputs:  number id, the caller's organisation, NUMBER_GRACE_DAYS in seconds.
-- Output:  {outcome: releasing (begun now) | releasing_already | released_already | not_rented,
--           number: phone_number_json, currency (the wallet's)} | {outcome: not_found} (no such
--           number of this organisation).
-- Effects: an active or past-due number becomes releasing (reason customer): from this moment
--          no rent is charged and its calls are refused. No refund of the month begun. The
--          caller then releases it at Vapi and at Twilio by id, and phone_number_release_finish
--          records it; the rent sweep re-drives a release the caller could not finish.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_release_begin(p_number_id uuid, p_org_id uuid, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  n phone_numbers%rowtype;
  v_currency text;
begin
  -- The wallet's row first, as every function that changes a rented number locks them.
  select currency into v_currency from wallets where org_id = p_org_id for update;
  select * into n from phone_numbers where id = p_number_id and org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if n.rent_anchor is null then
    return jsonb_build_object('outcome', 'not_rented', 'number', phone_number_json(n, p_grace_seconds),
                              'currency', v_currency);
  end if;
  if n.status in ('released', 'releasing') then
    return jsonb_build_object('outcome', n.status || '_already', 'number', phone_number_json(n, p_grace_seconds),
                              'currency', v_currency);
  end if;
  update phone_numbers set status = 'releasing', release_reason = 'customer'
   where id = n.id
  returning * into n;
  return jsonb_build_object('outcome', 'releasing', 'number', phone_number_json(n, p_grace_seconds),
                            'currency', v_currency);
end $function$;

-- phone_number_release_finish(uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_release_finish: records that a releasing number is gone at Vapi and Twilio.
-- Inputs:  number id, NUMBER_GRACE_DAYS in seconds.
-- Output:  {outcome: released | released_already | not_releasing, number: phone_number_json}
--          | {outcome: not_found}.
-- Effects: releasing → released (released_at, which frees the E.164 for the unique index of live
--          numbers) and one number.released event, with the reason (unpaid | customer). Call it
--          only after both providers confirmed the release: a number recorded released but still
--          live at Twilio would be billed to the platform by no one.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_release_finish(p_number_id uuid, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  n phone_numbers%rowtype;
begin
  select org_id into v_org from phone_numbers where id = p_number_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  perform 1 from wallets where org_id = v_org for update;
  select * into n from phone_numbers where id = p_number_id for update;
  if n.status = 'released' then
    return jsonb_build_object('outcome', 'released_already', 'number', phone_number_json(n, p_grace_seconds));
  end if;
  if n.status <> 'releasing' then
    return jsonb_build_object('outcome', 'not_releasing', 'number', phone_number_json(n, p_grace_seconds));
  end if;
  update phone_numbers set status = 'released', released_at = now() where id = n.id
  returning * into n;
  perform wallet_event_emit(v_org, 'number.released', jsonb_build_object(
    'numberId', n.id, 'phoneNumber', n.e164, 'reason', n.release_reason, 'paidUntil', n.paid_until));
  return jsonb_build_object('outcome', 'released', 'number', phone_number_json(n, p_grace_seconds));
end $function$;

-- phone_number_rent_charge(uuid,jsonb,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_rent_charge: one number's rent, and the state that follows from it (CONTRACT §11).
-- Inputs:  number id; monthly prices by currency (PHONE_NUMBER_MONTHLY_PRICE in CURRENCY and
--          PHONE_NUMBER_MONTHLY_PRICES, from shared/pricing.ts: SQL holds no price); the grace
--          period (NUMBER_GRACE_DAYS) in seconds.
-- Output:  {outcome, charged (months charged now), amount (minor units charged now), price,
--          currency, reactivated, number: phone_number_json, wallet: wallet_cache_json} where
--          outcome is
--            charged        every month due is paid now (catching up if several were due)
--            not_due        nothing due: paid until after billing_now() (another worker paid it)
--            past_due       the wallet could not pay: the number is past due as of now (event
--                           number.past_due); calls to it are refused
--            still_past_due could not pay, still within its grace
--            release_due    could not pay, and the grace is over: status releasing — the caller
--                           releases it at Vapi, then Twilio, then phone_number_release_finish
--            releasing      a release began earlier and is not finished: the caller finishes it
--            released       released already: nothing more is ever charged
--            not_rented     a registered number (not bought here): no rent
--            currency_not_priced   no monthly price for the wallet's currency: nothing changed
--          | {outcome: not_found}.
-- Effects: under the wallet row lock, then the number's: for each rental month that has begun
--          (paid_until <= billing_now(), oldest first) one phone_number_rent entry of the price,
--          funds required (a rent never takes a balance below zero), with the idempotency key
--          rent:<number id>:<start of the month it pays, UTC>, so a month is charged once however
--          many workers or retries ask (the ledger's unique key; the number's row lock makes them
--          queue, and the second finds it paid). Each month paid moves paid_until to the next
--          anniversary (rent_period_start, from the anchor). A past-due number that pays becomes
--          active (number.reactivated). The spend controls never refuse a rent, but it counts in
--          the day's spend (ledger_post), and a frozen wallet still pays it: the number costs the
--          platform either way.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_rent_charge(p_number_id uuid, p_prices jsonb, p_grace_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  w wallets%rowtype;
  n phone_numbers%rowtype;
  v_now timestamptz := billing_now();
  v_was text;
  v_price bigint;
  v_months integer := 0;
  v_reactivated boolean := false;
  v_outcome text;
  r jsonb;
begin
  if p_grace_seconds is null or p_grace_seconds < 0 or p_grace_seconds > 7776000 then
    raise exception 'phone_number_rent_charge: grace % out of range 0..7776000 s', p_grace_seconds
      using errcode = '22023';
  end if;
  if p_prices is null or jsonb_typeof(p_prices) <> 'object' then
    raise exception 'phone_number_rent_charge: prices must be an object' using errcode = '22023';
  end if;
  select org_id into v_org from phone_numbers where id = p_number_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  -- The order every movement of this wallet takes: its row first, then the number's.
  select * into w from wallets where org_id = v_org for update;
  select * into n from phone_numbers where id = p_number_id for update;
  v_was := n.status;
  if n.rent_anchor is null then
    return jsonb_build_object('outcome', 'not_rented', 'number', phone_number_json(n, p_grace_seconds));
  end if;
  if n.status in ('releasing', 'released') then
    return jsonb_build_object('outcome', n.status, 'number', phone_number_json(n, p_grace_seconds),
                              'wallet', wallet_cache_json(v_org));
  end if;
  if jsonb_typeof(p_prices -> w.currency) <> 'number' or (p_prices ->> w.currency)::numeric < 1
     or (p_prices ->> w.currency)::numeric <> trunc((p_prices ->> w.currency)::numeric) then
    return jsonb_build_object('outcome', 'currency_not_priced', 'currency', w.currency,
                              'number', phone_number_json(n, p_grace_seconds));
  end if;
  v_price := (p_prices ->> w.currency)::bigint;

  -- Every month that has begun, oldest first; 1200 months bound the loop (the anchor's limit).
  while n.paid_until <= v_now and n.paid_months < 1200 loop
    r := ledger_post(v_org, 'phone_number_rent', -v_price,
                     'rent:' || n.id || ':' || to_char(n.paid_until at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                     n.e164, null, true);
    exit when r->>'outcome' = 'insufficient_funds';
    if r->>'outcome' not in ('posted', 'replayed') then
      raise exception 'phone_number_rent_charge: unexpected ledger outcome %', r using errcode = 'XX000';
    end if;
    if r->>'outcome' = 'posted' then
      v_months := v_months + 1;
    end if;
    if n.status = 'past_due' then
      v_reactivated := true;
      perform wallet_event_emit(v_org, 'number.reactivated', jsonb_build_object(
        'numberId', n.id, 'phoneNumber', n.e164, 'amount', v_price,
        'paidUntil', rent_period_start(n.rent_anchor, n.paid_months + 1)));
    end if;
    update phone_numbers
       set paid_months = paid_months + 1,
           paid_until = rent_period_start(rent_anchor, paid_months + 1),
           status = 'active', past_due_since = null
     where id = n.id
    returning * into n;
  end loop;

  if n.paid_until > v_now then
    v_outcome := case when v_months > 0 then 'charged' else 'not_due' end;
  elsif n.status = 'active' then
    -- The wallet cannot pay a month that has begun: past due from now, for the grace period.
    update phone_numbers set status = 'past_due', past_due_since = v_now where id = n.id
    returning * into n;
    perform wallet_event_emit(v_org, 'number.past_due', jsonb_build_object(
      'numberId', n.id, 'phoneNumber', n.e164, 'amount', v_price, 'paidUntil', n.paid_until,
      'releaseAt', n.past_due_since + make_interval(secs => p_grace_seconds)));
    v_outcome := 'past_due';
  elsif n.past_due_since + make_interval(secs => p_grace_seconds) <= v_now then
    -- Not paid by the end of the grace: released (the caller does it at Vapi and Twilio).
    update phone_numbers set status = 'releasing', release_reason = 'unpaid' where id = n.id
    returning * into n;
    v_outcome := 'release_due';
  else
    v_outcome := 'still_past_due';
  end if;
  return jsonb_build_object('outcome', v_outcome, 'charged', v_months, 'amount', v_months * v_price,
    'price', v_price, 'currency', w.currency, 'reactivated', v_reactivated,
    'number', phone_number_json(n, p_grace_seconds), 'wallet', wallet_cache_json(v_org));
end $function$;

-- phone_number_resolve(text,text)
--
-- ---------------------------------------------------------------------------------------------
-- phone_number_resolve: which organisation and assistant a called number belongs to.
-- Inputs:  Vapi phone-number id (may be null), called number in E.164 (may be null).
-- Output:  {outcome: found, org_id, assistant_id (or null), e164, vapi_phone_number_id, status}
--          | {outcome: not_found}. status (issue 24): active, past_due or releasing — the gate
--          refuses calls to the last two with a sentence; reports still find their organisation.
-- Effects: none. Live rows only (released_at is null); the Vapi id wins over the number.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls, 20261206000200_number_rental (the last is current).
--
-- Called by: call_report_record(), shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_resolve(p_vapi_phone_number_id text, p_e164 text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', n.org_id, 'assistant_id', n.assistant_id,
                               'e164', n.e164, 'vapi_phone_number_id', n.vapi_phone_number_id,
                               'status', n.status)
       from phone_numbers n
      where n.released_at is null
        and ((p_vapi_phone_number_id is not null and n.vapi_phone_number_id = p_vapi_phone_number_id)
          or (p_e164 is not null and n.e164 = p_e164))
      order by (n.vapi_phone_number_id is not distinct from p_vapi_phone_number_id) desc
      limit 1),
    jsonb_build_object('outcome', 'not_found'))
$function$;

-- phone_numbers_list(uuid,integer,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_numbers_list: an organisation's rented numbers (GET /api/numbers), newest first.
-- Inputs:  org id, NUMBER_GRACE_DAYS in seconds, how many at most (1..1000).
-- Output:  {outcome: found, currency, items: [phone_number_json]} | {outcome: not_found} (no wallet).
--          Registered numbers are not listed: they were not bought here and pay no rent.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_numbers_list(p_org_id uuid, p_grace_seconds integer, p_limit integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_currency text;
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'phone_numbers_list: limit % out of range 1..1000', p_limit using errcode = '22023';
  end if;
  select currency into v_currency from wallets where org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'found', 'currency', v_currency, 'items', coalesce((
    select jsonb_agg(phone_number_json(x, p_grace_seconds) order by x.created_at desc, x.id)
      from (select * from phone_numbers n
             where n.org_id = p_org_id and n.rent_anchor is not null
             order by n.created_at desc, n.id
             limit p_limit) x), '[]'::jsonb));
end $function$;

-- phone_numbers_rent_due(uuid,uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_numbers_rent_due: the rent sweep's work list, one page (workers/rent-worker.ts).
-- Inputs:  an organisation (null = every one; a credit's retry asks for its own), the last id of
--          the previous page (null for the first), the page size (1..1000).
-- Output:  {items: [{id, org_id, status}]} by id: rented numbers active or past due whose paid
--          month has ended on the billing clock, and numbers whose release is not finished.
-- Effects: none. Each item is then decided by phone_number_rent_charge under its locks, so a
--          number listed by two workers at once is still charged once.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_numbers_rent_due(p_org_id uuid, p_after uuid, p_limit integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_now timestamptz := billing_now();
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'phone_numbers_rent_due: limit % out of range 1..1000', p_limit using errcode = '22023';
  end if;
  return jsonb_build_object('items', coalesce((select jsonb_agg(jsonb_build_object(
      'id', d.id, 'org_id', d.org_id, 'status', d.status) order by d.id)
    from (select n.id, n.org_id, n.status from phone_numbers n
           where ((n.status in ('active', 'past_due') and n.paid_until <= v_now) or n.status = 'releasing')
             and (p_org_id is null or n.org_id = p_org_id)
             and (p_after is null or n.id > p_after)
           order by n.id
           limit p_limit) d), '[]'::jsonb));
end $function$;

-- provision_request_complete(uuid,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_complete: records the managed number and completes the request, together.
-- Inputs:  request id, E.164 number, Twilio sid, Vapi phone-number id.
-- Output:  {outcome: completed (replayed) | final | not_found, request}.
-- Effects: from queued/provisioning/retrying: one phone_numbers row (source provisioned, with the
--          requested assistant) and status completed, in one transaction. A completed request
--          returns replayed = true; a failed or refunded one is never revived (final).
--          The purchase paid the first month (issue 24, CONTRACT §11): the number's rent anchor
--          is now on the billing clock, paid until one month later (rent_period_start).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning, 20261206000200_number_rental (the last is current).
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_complete(p_request_id uuid, p_phone_number text, p_twilio_sid text, p_vapi_phone_number_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  r provisioning_requests%rowtype;
  -- Whole seconds: the anniversaries (and the rent keys naming them) read cleanly.
  v_anchor timestamptz := date_trunc('second', billing_now());
begin
  select * into r from provisioning_requests where id = p_request_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if r.status = 'completed' then
    return jsonb_build_object('outcome', 'completed', 'replayed', true, 'request', provisioning_json(r));
  end if;
  if r.status not in ('queued', 'provisioning', 'retrying') then
    return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
  end if;
  insert into phone_numbers (org_id, e164, vapi_phone_number_id, assistant_id, twilio_sid, source,
                             status, rent_anchor, paid_months, paid_until)
  values (r.org_id, p_phone_number, p_vapi_phone_number_id, r.assistant_id, p_twilio_sid, 'provisioned',
          'active', v_anchor, 1, rent_period_start(v_anchor, 1));
  update provisioning_requests
     set status = 'completed', phone_number = p_phone_number, twilio_sid = p_twilio_sid,
         vapi_phone_number_id = p_vapi_phone_number_id, error = null, updated_at = now()
   where id = p_request_id
  returning * into r;
  return jsonb_build_object('outcome', 'completed', 'replayed', false, 'request', provisioning_json(r));
end $function$;

-- rent_period_start(timestamp with time zone,integer)
--
-- ---------------------------------------------------------------------------------------------
-- rent_period_start (internal): what "a month" means for a number's rent. The start of rental
-- month `p_months` (0 = the purchase) is the anchor (the purchase time) plus that many calendar
-- months in UTC: the same day of the month as the purchase, clamped to the last day of a shorter
-- month, at the purchase's time of day. Always counted from the anchor, never from the previous
-- (clamped) anniversary: a number bought on 31 January renews on 28 (or 29) February, then on
-- 31 March, 30 April, 31 May… Postgres's `timestamp + interval 'n months'` clamps exactly so.
-- Inputs:  the anchor, a month count (0..1200).
-- Output:  the anniversary.
-- Effects: none (immutable: UTC is fixed here, the session's time zone plays no part).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: phone_number_rent_charge(), provision_request_complete().
CREATE OR REPLACE FUNCTION public.rent_period_start(p_anchor timestamp with time zone, p_months integer)
 RETURNS timestamp with time zone
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if p_months is null or p_months < 0 or p_months > 1200 then
    raise exception 'rent_period_start: months % out of range 0..1200', p_months using errcode = '22023';
  end if;
  return ((p_anchor at time zone 'utc') + make_interval(months => p_months)) at time zone 'utc';
end $function$;

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

-- wallet_spent_on(wallets,timestamp with time zone)
--
-- wallet_spent_on (internal): the posted spend of the UTC day of p_now (holds not included).
-- The day is the billing clock's (issue 24): p_now is a real instant, moved by billing_offset_seconds()
-- as ledger_post moves the day it records (both are now() outside sandbox mode). Stable, no longer
-- immutable: it reads the clock.
--
-- (from 20261201000400_hot_helpers_in_plpgsql)
-- Why (issue 15, benchmark b): a `language sql` function that is security definer (or has a SET
-- clause) is never inlined, and each call from plpgsql parses, analyses and plans its body again.
-- `perf` over Postgres during bench b put 31% of its CPU under fmgr_sql (parser, planner,
-- stringToNode), almost all of it call_holds_sum and call_hold_json, called once per admission.
-- plpgsql prepares each statement once per session and reuses the plan. pgbench, batches of 30
-- admissions over 135 live holds per organisation: 6.37 ms → 5.44 (call_holds_sum) → 4.45 ms
-- (call_hold_json). calls_live_count and wallet_spent_on run on the same path when an organisation
-- has maxConcurrentCalls or dailySpendLimit set, so they change too.
-- test/calls/hot-helpers.test.ts keeps them out of `language sql`.
--
-- Defined in 20261130001200_spend_controls, 20261201000400_hot_helpers_in_plpgsql, 20261206000200_number_rental (the last is current).
--
-- Called by: call_gate_admit_plan(), call_meter_renew(), wallet_purchase_refusal().
CREATE OR REPLACE FUNCTION public.wallet_spent_on(w wallets, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return case when w.spend_day = ((p_now + make_interval(secs => billing_offset_seconds())) at time zone 'utc')::date
              then w.spend_today else 0 end;
end $function$;

revoke all on function billing_clock_advance(bigint) from public, anon, authenticated, service_role;
grant execute on function billing_clock_advance(bigint) to service_role;
revoke all on function billing_clock_get() from public, anon, authenticated, service_role;
grant execute on function billing_clock_get() to service_role;
revoke all on function phone_number_release_begin(uuid,uuid,integer) from public, anon, authenticated, service_role;
grant execute on function phone_number_release_begin(uuid,uuid,integer) to service_role;
revoke all on function phone_number_release_finish(uuid,integer) from public, anon, authenticated, service_role;
grant execute on function phone_number_release_finish(uuid,integer) to service_role;
revoke all on function phone_number_rent_charge(uuid,jsonb,integer) from public, anon, authenticated, service_role;
grant execute on function phone_number_rent_charge(uuid,jsonb,integer) to service_role;
revoke all on function phone_numbers_list(uuid,integer,integer) from public, anon, authenticated, service_role;
grant execute on function phone_numbers_list(uuid,integer,integer) to service_role;
revoke all on function phone_numbers_rent_due(uuid,uuid,integer) from public, anon, authenticated, service_role;
grant execute on function phone_numbers_rent_due(uuid,uuid,integer) to service_role;
