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
