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
