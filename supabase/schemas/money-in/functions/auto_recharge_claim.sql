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
