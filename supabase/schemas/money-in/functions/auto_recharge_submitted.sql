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
