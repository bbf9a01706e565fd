-- recharge_outbox_functions: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: auto_recharge_claim, auto_recharge_request_done, auto_recharge_submitted, money_outbox_claim, money_outbox_done, money_outbox_retry, stripe_payment_succeeded, top_up_fail, wallet_money_watch.

drop function auto_recharge_claim(uuid,integer);

-- auto_recharge_claim(uuid,integer,bigint,integer)
--
-- ---------------------------------------------------------------------------------------------
-- auto_recharge_claim: one attempt of the wallet's open "recharge wanted" outbox row, decided
-- under the wallet lock against the live available amount (failure mode 33).
-- Inputs:  the organisation, the cooldown (AUTO_RECHARGE_COOLDOWN_SECONDS), and the outbox row
--          and attempt the calling job carries (money_outbox_claim gave them).
-- Output:  {outcome: claimed | resume, top_up, customer_id, payment_method_id}: send this
--          recharge to Stripe now, under the idempotency key recharge-<top_up.id>;
--          {outcome: cooldown, retry_after_ms}: the row waits for the cooldown's end;
--          {outcome: in_flight | not_needed | off | frozen}: nothing to send;
--          {outcome: stale}: the row is closed or claimed again since: this carrier is stale.
-- Effects: claimed: a pending auto_recharge top-up, the one in flight, linked to the row.
--          resume: the recharge in flight has no PaymentIntent (Stripe never answered: an
--          outage, a lost job, a dead worker): it is sent again, under its own key, so a
--          PaymentIntent Stripe made without our hearing of it is answered again, not made
--          twice; once per attempt (a second call of the same attempt is told in_flight), and
--          with the customer and card recorded on the recharge when it was claimed.
--          The row stays open (leased) until auto_recharge_submitted or a failure answers it;
--          cooldown moves it to the cooldown's end; every other outcome closes it.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.auto_recharge_claim(p_org_id uuid, p_cooldown_seconds integer, p_outbox_id bigint, p_attempt integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  w wallets%rowtype;
  s wallet_money_settings%rowtype;
  t top_ups%rowtype;
  o money_outbox%rowtype;
  v_available bigint;
  v_next timestamptz;
begin
  -- Lock order everywhere: wallet, then settings, then the outbox row.
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'off');
  end if;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  select * into o from money_outbox
   where id = p_outbox_id and org_id = p_org_id and task = 'auto_recharge' for update;
  if not found or o.done_at is not null or o.attempts <> p_attempt then
    return jsonb_build_object('outcome', 'stale');
  end if;
  -- A recharge already claimed is finished first, even if auto-recharge was turned off or the
  -- wallet frozen since: Stripe may have made its PaymentIntent already (an answer lost), and only
  -- the same request under the same key can tell without charging twice. Closing the row instead
  -- would leave it in flight for good, and the watch never asks while one is.
  if s.recharge_in_flight is not null then
    select * into t from top_ups where id = s.recharge_in_flight;
    if t.status = 'pending' and t.payment_intent_id is null then
      if o.sent_in_attempt = p_attempt then
        return jsonb_build_object('outcome', 'in_flight');
      end if;
      update money_outbox set top_up_id = t.id, sent_in_attempt = p_attempt where id = o.id;
      -- The same request as the first time (a card saved since must not change it); a recharge
      -- claimed before these were recorded takes the wallet's.
      return jsonb_build_object('outcome', 'resume', 'top_up', top_up_json(t),
        'customer_id', coalesce(t.customer_id, s.stripe_customer_id),
        'payment_method_id', coalesce(t.payment_method_id, s.payment_method_id));
    end if;
    -- Stripe has the recharge (its PaymentIntent is recorded): the request is answered; the
    -- credit or the failure comes from its webhook.
    perform auto_recharge_request_done(p_org_id, null);
    return jsonb_build_object('outcome', 'in_flight');
  end if;
  if s.org_id is null or not s.recharge_enabled then
    perform auto_recharge_request_done(p_org_id, null);
    return jsonb_build_object('outcome', 'off');
  end if;
  if w.frozen then
    perform auto_recharge_request_done(p_org_id, null);
    return jsonb_build_object('outcome', 'frozen');
  end if;
  v_available := w.balance - call_holds_sum(p_org_id, now());
  if v_available >= s.recharge_threshold then
    perform auto_recharge_request_done(p_org_id, null);
    return jsonb_build_object('outcome', 'not_needed', 'available', v_available);
  end if;
  v_next := s.recharge_last_attempt_at + make_interval(secs => p_cooldown_seconds);
  if v_next > now() then
    update money_outbox set claimed_until = null, next_attempt_at = v_next where id = o.id;
    return jsonb_build_object('outcome', 'cooldown',
      'retry_after_ms', ceil(extract(epoch from (v_next - now())) * 1000)::bigint);
  end if;
  insert into top_ups (org_id, source, amount, currency, customer_id, payment_method_id)
  values (p_org_id, 'auto_recharge', s.recharge_amount, w.currency, s.stripe_customer_id, s.payment_method_id)
  returning * into t;
  update wallet_money_settings
     set recharge_in_flight = t.id, recharge_last_attempt_at = now(), updated_at = now()
   where org_id = p_org_id;
  update money_outbox set top_up_id = t.id, sent_in_attempt = p_attempt where id = o.id;
  return jsonb_build_object('outcome', 'claimed', 'top_up', top_up_json(t),
    'customer_id', t.customer_id, 'payment_method_id', t.payment_method_id);
end $function$;

-- auto_recharge_request_done(uuid,uuid)
--
-- ---------------------------------------------------------------------------------------------
-- auto_recharge_request_done (internal): the wallet's open "recharge wanted" outbox row is
-- answered; it is closed and recharge_wanted cleared with it (the watch may ask again).
-- Inputs:  the organisation; the recharge (top-up) whose answer this is, or null for whichever
--          row is open (auto_recharge_claim: nothing to do).
-- Effects: closes only a row of that recharge when one is named, so a late answer about an older
--          recharge never closes a newer request. Call while holding the wallet row lock (every
--          caller does, then the settings row: the order everywhere).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207000100_recharge_outbox_functions.
--
-- Called by: auto_recharge_claim(), auto_recharge_submitted(), stripe_payment_succeeded(), top_up_fail().
CREATE OR REPLACE FUNCTION public.auto_recharge_request_done(p_org_id uuid, p_top_up_id uuid)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update money_outbox
     set done_at = now(), claimed_until = null
   where org_id = p_org_id and task = 'auto_recharge' and done_at is null
     and (p_top_up_id is null or top_up_id = p_top_up_id);
  if not found then
    return false;
  end if;
  update wallet_money_settings set recharge_wanted = false, updated_at = now()
   where org_id = p_org_id and recharge_wanted;
  return true;
end $function$;

-- auto_recharge_submitted(uuid,text)
--
-- ---------------------------------------------------------------------------------------------
-- auto_recharge_submitted: Stripe answered a recharge with its PaymentIntent. The first one is
-- recorded (a replay under the same idempotency key names the same one), and the outbox row that
-- asked for this recharge is closed: the request is answered, the credit (or the failure) comes
-- from the PaymentIntent's webhook.
-- Output:  {outcome: found, top_up} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.auto_recharge_submitted(p_top_up_id uuid, p_payment_intent_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare t top_ups%rowtype;
begin
  -- Lock order everywhere: wallet, then top-up, then settings and the outbox.
  perform 1 from wallets where org_id = (select org_id from top_ups where id = p_top_up_id) for update;
  update top_ups set payment_intent_id = coalesce(payment_intent_id, p_payment_intent_id), updated_at = now()
   where id = p_top_up_id returning * into t;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if t.source = 'auto_recharge' then
    perform auto_recharge_request_done(t.org_id, t.id);
  end if;
  return jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t));
end $function$;

-- money_outbox_claim(integer,integer)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_claim: the relay's lease on due outbox rows (open, next_attempt_at come, no live
-- lease), oldest first, skipping rows another relay holds.
-- Output:  {items: [{id, org_id, task, event_id, attempt, lease_expired}]}: `attempt` is this
--          claim's number, which the job carrying it names (auto_recharge_claim,
--          money_outbox_retry); `lease_expired`: an earlier claim's carrier never reported (a
--          lost job, a dead worker) and its lease lapsed.
-- Effects: claimed_until = now + p_lease_seconds, attempts + 1. Nothing is marked done here: an
--          event delivery is done once queued (money_outbox_done), a recharge when answered.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_claim(p_limit integer, p_lease_seconds integer)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  with picked as (
    select id, claimed_until is not null as lease_expired from money_outbox
     where done_at is null and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
     order by id
     limit least(greatest(p_limit, 1), 1000)
     for update skip locked),
  claimed as (
    update money_outbox o
       set claimed_until = now() + make_interval(secs => greatest(p_lease_seconds, 0)), attempts = o.attempts + 1
      from picked where o.id = picked.id
    returning o.id, o.org_id, o.task, o.event_id, o.attempts, picked.lease_expired)
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'org_id', org_id, 'task', task, 'event_id', event_id,
           'attempt', attempts, 'lease_expired', lease_expired) order by id), '[]'::jsonb))
    from claimed
$function$;

-- money_outbox_done(bigint)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_done: an event delivery row is done once its job is queued (the job retries the
-- delivery itself). A recharge row is never done here: it stays open until its recharge is
-- answered (auto_recharge_claim, auto_recharge_submitted, top_up_fail,
-- stripe_payment_succeeded), so a relay that still calls this for one changes nothing.
-- Output:  {outcome: done | unchanged}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_done(p_id bigint)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  with d as (
    update money_outbox set done_at = now(), claimed_until = null
     where id = p_id and done_at is null and task = 'deliver_event'
    returning id)
  select jsonb_build_object('outcome', case when exists (select 1 from d) then 'done' else 'unchanged' end)
$function$;

-- money_outbox_retry(bigint,integer,text,integer)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_retry: the attempt a job carried failed without an answer (Stripe unreachable,
-- 5xx, a timeout): the row stays open and is due again after a backoff, decided here, not by
-- the job (which may be lost with Redis).
-- Inputs:  the row and the attempt the job carried; what went wrong (stored, at most 500
--          characters; the caller passes no secrets); the longest wait, in seconds.
-- Output:  {outcome: retrying, attempt, retry_in_ms} | {outcome: stale} (the row was answered
--          or claimed again since: nothing changes).
-- Effects: the lease is released and next_attempt_at = now + min(max, 2^(attempt-1) s), less up
--          to half at random, so wallets stranded by one outage do not all come back at once.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207000100_recharge_outbox_functions.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_retry(p_id bigint, p_attempt integer, p_error text, p_max_backoff_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_wait interval;
begin
  v_wait := make_interval(secs => least(greatest(p_max_backoff_seconds, 1)::double precision,
                                        power(2, least(greatest(p_attempt, 1), 30) - 1))
                                  * (0.5 + random() / 2));
  update money_outbox
     set claimed_until = null, next_attempt_at = now() + v_wait, last_error = left(p_error, 500)
   where id = p_id and done_at is null and attempts = p_attempt;
  if not found then
    return jsonb_build_object('outcome', 'stale');
  end if;
  return jsonb_build_object('outcome', 'retrying', 'attempt', p_attempt,
    'retry_in_ms', ceil(extract(epoch from v_wait) * 1000)::bigint);
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
--          entry, the top-up paid, the card saved, the recharge in flight done (and the outbox
--          row that asked for it closed: the answer to the job that sent it may have been
--          lost), then whatever refunds and disputes of this payment were waiting.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
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
  if t.source = 'auto_recharge' then
    perform auto_recharge_request_done(t.org_id, t.id);
  end if;
  perform stripe_reconcile_payment(p_payment_intent_id);
  perform stripe_event_done(p_event_id, v_outcome, t.org_id);
  select * into t from top_ups where id = t.id;
  return jsonb_build_object('outcome', v_outcome, 'org_id', t.org_id, 'top_up', top_up_json(t),
                            'wallet', wallet_cache_json(t.org_id));
end $function$;

-- top_up_fail(uuid,text,text,text)
--
-- top_up_fail (internal, also auto_recharge_failed): pending → failed/expired once; an
-- auto-recharge's failure is counted, emitted, and turns auto-recharge off at the third in a row.
-- It answers the outbox row that asked for that recharge, and, unless auto-recharge just turned
-- itself off, the money watch asks again (a new row; while available stays below the threshold
-- auto_recharge_claim tries again after the cooldown). The outbox, not a delayed job, is what
-- brings the next try.
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: auto_recharge_failed(), stripe_payment_closed().
CREATE OR REPLACE FUNCTION public.top_up_fail(p_top_up_id uuid, p_status text, p_failure_code text, p_failure_message text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  t top_ups%rowtype;
  s wallet_money_settings%rowtype;
  v_disabled boolean := false;
begin
  select * into t from top_ups where id = p_top_up_id;
  perform 1 from wallets where org_id = t.org_id for update;
  select * into t from top_ups where id = p_top_up_id for update;
  if t.status <> 'pending' and not (t.status = 'failed' and p_status = 'expired') then
    return jsonb_build_object('outcome', 'already', 'org_id', t.org_id, 'top_up', top_up_json(t), 'disabled', false);
  end if;
  update top_ups set status = p_status, failure_code = left(p_failure_code, 100),
                     failure_message = left(p_failure_message, 500), updated_at = now()
   where id = t.id returning * into t;
  if t.source = 'auto_recharge' then
    select * into s from wallet_money_settings where org_id = t.org_id for update;
    if s.recharge_in_flight = t.id then
      s.recharge_failures := s.recharge_failures + 1;
      v_disabled := s.recharge_failures >= 3 and s.recharge_enabled;
      update wallet_money_settings
         set recharge_in_flight = null, recharge_failures = s.recharge_failures,
             recharge_enabled = recharge_enabled and not v_disabled, updated_at = now()
       where org_id = t.org_id;
      perform wallet_event_emit(t.org_id, 'auto_recharge.failed', jsonb_build_object(
        'topUpId', t.id, 'amount', t.amount, 'code', t.failure_code, 'message', t.failure_message,
        'failuresInARow', s.recharge_failures));
      if v_disabled then
        perform wallet_event_emit(t.org_id, 'auto_recharge.disabled', jsonb_build_object(
          'reason', 'three_failures_in_a_row', 'failuresInARow', s.recharge_failures));
      end if;
    end if;
    perform auto_recharge_request_done(t.org_id, t.id);
    if not v_disabled then
      perform wallet_money_watch(t.org_id);
    end if;
  end if;
  return jsonb_build_object('outcome', 'closed', 'org_id', t.org_id, 'top_up', top_up_json(t), 'disabled', v_disabled);
end $function$;

-- wallet_money_watch(uuid)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_money_watch (internal): the threshold rules, evaluated where the balance changes.
-- Call only while holding the wallet row lock (ledger_post, call_gate_admit do).
-- Effects: one balance.low per threshold crossed downwards (available <= threshold) and one
--          balance.recovered when it rises above again; a "recharge wanted" outbox row when
--          auto-recharge is on, the wallet is not frozen, available < threshold, and no recharge
--          is wanted or in flight already. A wallet with no settings costs one index probe.
--          The row stays open until its recharge is answered (money_outbox.sql); at most one is
--          open per wallet (money_outbox_one_recharge), so a flag out of step with the rows
--          cannot make a second one, nor fail the money movement that called the watch.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: auto_recharge_settings_put(), call_gate_admit(), call_gate_admit_many(), call_gate_record_holds(), call_meter_renew(), ledger_post(), top_up_fail(), wallet_unfreeze().
CREATE OR REPLACE FUNCTION public.wallet_money_watch(p_org_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  s wallet_money_settings%rowtype;
  w wallets%rowtype;
  v_available bigint;
  v_low bigint[];
  t bigint;
  v_wanted boolean;
begin
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if not found then
    return;
  end if;
  select * into w from wallets where org_id = p_org_id;
  v_available := w.balance - call_holds_sum(p_org_id, now());
  v_low := s.alerts_low;
  for t in select x from unnest(s.alert_thresholds) x order by x desc loop
    if v_available <= t and not (t = any (v_low)) then
      v_low := v_low || t;
      perform wallet_event_emit(p_org_id, 'balance.low', jsonb_build_object('threshold', t));
    end if;
  end loop;
  for t in select x from unnest(s.alert_thresholds) x order by x asc loop
    if v_available > t and t = any (v_low) then
      v_low := array_remove(v_low, t);
      perform wallet_event_emit(p_org_id, 'balance.recovered', jsonb_build_object('threshold', t));
    end if;
  end loop;
  v_wanted := s.recharge_wanted;
  if s.recharge_enabled and not w.frozen and v_available < s.recharge_threshold
     and not s.recharge_wanted and s.recharge_in_flight is null then
    insert into money_outbox (org_id, task) values (p_org_id, 'auto_recharge')
      on conflict (org_id) where task = 'auto_recharge' and done_at is null do nothing;
    v_wanted := true;
  end if;
  if v_low is distinct from s.alerts_low or v_wanted <> s.recharge_wanted then
    update wallet_money_settings set alerts_low = v_low, recharge_wanted = v_wanted, updated_at = now()
     where org_id = p_org_id;
  end if;
end $function$;

revoke all on function auto_recharge_claim(uuid,integer,bigint,integer) from public, anon, authenticated, service_role;
grant execute on function auto_recharge_claim(uuid,integer,bigint,integer) to service_role;
revoke all on function money_outbox_retry(bigint,integer,text,integer) from public, anon, authenticated, service_role;
grant execute on function money_outbox_retry(bigint,integer,text,integer) to service_role;
