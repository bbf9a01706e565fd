-- outbound_call_admit(uuid,text,text,text,text,text,text,text,bigint,bigint,integer,integer,integer,integer,text,integer,integer,timestamp with time zone)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_call_admit: the gate of a call the service places itself (POST /api/calls, CONTRACT
-- §10; failure mode 41), one transaction before Vapi is asked: the Idempotency-Key, the caller's
-- number, the destination's rate, the dialing permissions, the platform's capacity and then the
-- same admission as an inbound call's Postgres path (call_gate_admit: frozen, spend controls,
-- plan, hold), at the destination's rate, fixed on the calls row.
-- Inputs:  org id; our call id (a new uuid: the key of the call's hold, charge and webhooks);
--          the Idempotency-Key and the request's fingerprint; the destination (E.164) and its
--          country (ISO alpha-2 by calling code, from libphonenumber-js; null if it has none); the
--          caller's number as our id or Vapi's; the assistant; CALL_RATE_PER_MINUTE (the rate when
--          no prefix matches) and the gate's settings as call_gate_admit takes them;
--          VAPI_CONCURRENCY_LIMIT (null = none); the gate's clock.
-- Output:  {outcome: held, call_id, hold, max_duration_seconds, available, rate, currency,
--           vapi_phone_number_id, replayed: false}
--          | the key's recorded outcome with replayed: true ({outcome: placing, call_id} while
--            Vapi's answer is awaited or was lost; {outcome: placed|failed, answer}; a refusal)
--          | {outcome: insufficient_funds, balance, available, required, shortfall, currency}
--          | {outcome: wallet_frozen} | {outcome: limit_reached, limit}
--          | {outcome: destination_not_allowed, destination, reason: blocked|country}
--          | {outcome: number_past_due, phone_number_id} (the caller's number's rent is unpaid)
--            (these five recorded under the key, as a purchase's refusals are)
--          | {outcome: calls_per_second, limit} | {outcome: platform_at_capacity, limit}
--          | {outcome: unknown_phone_number} (none of the organisation's, or one being released)
--          | {outcome: idempotency_key_reused}
--          | {outcome: not_found}                         (not recorded: retrying may succeed)
-- Effects: under the wallet row lock (and, with a capacity limit, a transaction-level advisory
--          lock taken before it, the same for every outbound admission: the count of calls in
--          progress across organisations is exact): on held, the calls row (as call_gate_admit
--          writes it, with the rate), the outbound_calls row ('placing') and the key's record
--          {outcome: placing, call_id}, in one transaction. Nothing is held or recorded on a refusal
--          but the refusal itself.
-- Calls per second: outbound calls this organisation was admitted in the second before p_now,
--          and any stamped after it (a sliding window, counted under its wallet row lock, so exact
--          under concurrency). Requests read the clock before they queue for the lock, so the one
--          that read it later can be admitted first; its row, stamped after this p_now, counts too,
--          or two requests would both pass a limit of one.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions; replaced in
-- 20261207012134_outbound_calls_per_second_clock_order (current).
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_admit(p_org_id uuid, p_call_id text, p_idempotency_key text, p_fingerprint text, p_destination text, p_country text, p_phone_number_id text, p_assistant_id text, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_concurrency_limit integer, p_now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  w wallets%rowtype;
  d org_dialing%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_prior jsonb;
  v_number phone_numbers%rowtype;
  v_rate jsonb;
  v_per_minute bigint;
  v_fee bigint;
  v_min integer;
  v_inc integer;
  v_step jsonb;
  v_refusal jsonb;
  v_count bigint;
  v_required bigint;
  v_available bigint;
begin
  if p_concurrency_limit is not null then
    -- Every outbound admission counts the calls in progress of every organisation: one at a time.
    perform pg_advisory_xact_lock(hashtext('billing_gates.outbound_capacity'));
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  v_prior := idempotency_lookup(p_org_id, 'call', p_idempotency_key, p_fingerprint);
  if v_prior is not null then
    return v_prior;
  end if;

  select * into v_number from phone_numbers n
   where n.org_id = p_org_id and n.released_at is null and n.vapi_phone_number_id is not null
     and (n.vapi_phone_number_id = p_phone_number_id or n.id::text = p_phone_number_id)
   limit 1;
  if not found or v_number.status = 'releasing' then
    -- A number being released is out of service, as the inbound gate treats it.
    return jsonb_build_object('outcome', 'unknown_phone_number');
  end if;
  if v_number.status = 'past_due' then
    -- Its rent is unpaid: it takes no inbound call (issue 24), and places none either, or an
    -- organisation that stopped paying its rent would keep using the number for a week of grace.
    return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint,
      jsonb_build_object('outcome', 'number_past_due', 'phone_number_id', v_number.id));
  end if;

  v_rate := call_rate_match(p_destination);
  if coalesce((v_rate->>'blocked')::boolean, false) then
    v_refusal := jsonb_build_object('outcome', 'destination_not_allowed', 'destination', p_destination, 'reason', 'blocked');
  end if;
  select * into d from org_dialing where org_id = p_org_id;
  if v_refusal is null and d.allowed_countries is not null
     and (p_country is null or not (p_country = any (d.allowed_countries))) then
    v_refusal := jsonb_build_object('outcome', 'destination_not_allowed', 'destination', p_destination, 'reason', 'country');
  end if;
  if v_refusal is not null then
    return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint, v_refusal);
  end if;

  if d.calls_per_second is not null then
    select count(*) into v_count from outbound_calls o
     where o.org_id = p_org_id and o.created_at > v_now - interval '1 second';
    if v_count >= d.calls_per_second then
      return jsonb_build_object('outcome', 'calls_per_second', 'limit', d.calls_per_second);
    end if;
  end if;
  if p_concurrency_limit is not null then
    select count(*) into v_count from outbound_calls o join calls c on c.call_id = o.call_id
     where o.state <> 'failed' and c.settled_at is null and c.ended_at is null and c.hold_expires_at > v_now;
    if v_count >= p_concurrency_limit then
      return jsonb_build_object('outcome', 'platform_at_capacity', 'limit', p_concurrency_limit);
    end if;
  end if;

  v_per_minute := coalesce((v_rate->>'rate_per_minute')::bigint, p_rate_per_minute);
  v_fee := coalesce((v_rate->>'connect_fee')::bigint, 0);
  v_min := coalesce((v_rate->>'minimum_seconds')::integer, 0);
  v_inc := coalesce((v_rate->>'increment_seconds')::integer, 1);
  v_step := call_gate_admit(p_org_id, p_call_id, v_per_minute, p_min_balance, p_safety_margin_seconds,
    p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds, v_now,
    v_fee, v_min, v_inc, v_rate->>'prefix');
  case v_step->>'outcome'
    when 'held' then
      null;
    when 'refused' then
      if v_step->>'reason' = 'wallet_frozen' then
        v_refusal := jsonb_build_object('outcome', 'wallet_frozen');
      else
        v_refusal := jsonb_build_object('outcome', 'limit_reached', 'limit', v_step->>'reason');
      end if;
      return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint, v_refusal);
    when 'available' then
      v_available := (v_step->>'available')::bigint;
      v_required := greatest(p_min_balance, call_rate_cost(p_min_duration_seconds, v_per_minute, v_fee, v_min, v_inc));
      return idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint, jsonb_build_object(
        'outcome', 'insufficient_funds', 'balance', w.balance, 'available', v_available,
        'required', v_required, 'shortfall', greatest(1, v_required - v_available), 'currency', w.currency));
    else
      -- 'existing' (a call id reused: a programmer error) or 'not_found' (no wallet: locked above).
      raise exception 'outbound_call_admit: unexpected admission %', v_step using errcode = 'XX000';
  end case;

  insert into outbound_calls (call_id, org_id, idempotency_key, destination, country, vapi_phone_number_id,
                              assistant_id, created_at)
  values (p_call_id, p_org_id, p_idempotency_key, p_destination, p_country, v_number.vapi_phone_number_id,
          p_assistant_id, v_now);
  perform idempotency_record(p_org_id, 'call', p_idempotency_key, p_fingerprint,
    jsonb_build_object('outcome', 'placing', 'call_id', p_call_id));
  return jsonb_build_object('outcome', 'held', 'call_id', p_call_id, 'hold', v_step->'hold',
    'max_duration_seconds', (v_step->>'max_duration_seconds')::integer,
    'available', (v_step->>'available')::bigint,
    'rate', jsonb_build_object('prefix', v_rate->>'prefix', 'rate_per_minute', v_per_minute,
                               'connect_fee', v_fee, 'minimum_seconds', v_min, 'increment_seconds', v_inc),
    'currency', w.currency, 'vapi_phone_number_id', v_number.vapi_phone_number_id, 'replayed', false);
end $function$;
