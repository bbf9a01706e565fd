-- auto_recharge_claim(uuid,integer)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.auto_recharge_claim(p_org_id uuid, p_cooldown_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  w wallets%rowtype;
  s wallet_money_settings%rowtype;
  t top_ups%rowtype;
  v_available bigint;
  v_next timestamptz;
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'off');
  end if;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if not found or not s.recharge_enabled then
    update wallet_money_settings set recharge_wanted = false where org_id = p_org_id;
    return jsonb_build_object('outcome', 'off');
  end if;
  if s.recharge_in_flight is not null then
    select * into t from top_ups where id = s.recharge_in_flight;
    -- A recharge Stripe never acknowledged (its job's Stripe call failed with an outage and the
    -- job is retried, or the process died before the call), or one started long ago and never
    -- answered: submit it again under the same idempotency key; Stripe answers the first result.
    -- Told "in flight" instead, the retried job would end and nothing would ever send it.
    if t.status = 'pending' and (t.payment_intent_id is null or s.recharge_last_attempt_at < now() - interval '10 minutes') then
      update wallet_money_settings set recharge_last_attempt_at = now() where org_id = p_org_id;
      return jsonb_build_object('outcome', 'resume', 'top_up', top_up_json(t),
        'customer_id', s.stripe_customer_id, 'payment_method_id', s.payment_method_id);
    end if;
    return jsonb_build_object('outcome', 'in_flight');
  end if;
  if w.frozen then
    update wallet_money_settings set recharge_wanted = false where org_id = p_org_id;
    return jsonb_build_object('outcome', 'frozen');
  end if;
  v_available := w.balance - call_holds_sum(p_org_id, now());
  if v_available >= s.recharge_threshold then
    update wallet_money_settings set recharge_wanted = false where org_id = p_org_id;
    return jsonb_build_object('outcome', 'not_needed', 'available', v_available);
  end if;
  v_next := s.recharge_last_attempt_at + make_interval(secs => p_cooldown_seconds);
  if v_next > now() then
    update wallet_money_settings set recharge_wanted = true where org_id = p_org_id;
    return jsonb_build_object('outcome', 'cooldown',
      'retry_after_ms', ceil(extract(epoch from (v_next - now())) * 1000)::bigint);
  end if;
  insert into top_ups (org_id, source, amount, currency)
  values (p_org_id, 'auto_recharge', s.recharge_amount, w.currency)
  returning * into t;
  update wallet_money_settings
     set recharge_in_flight = t.id, recharge_last_attempt_at = now(), recharge_wanted = false, updated_at = now()
   where org_id = p_org_id;
  return jsonb_build_object('outcome', 'claimed', 'top_up', top_up_json(t),
    'customer_id', s.stripe_customer_id, 'payment_method_id', s.payment_method_id);
end $function$;
