-- auto_recharge_submitted(uuid,text)
--
-- Defined in 20261130001100_money_in.
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
  update top_ups set payment_intent_id = coalesce(payment_intent_id, p_payment_intent_id), updated_at = now()
   where id = p_top_up_id returning * into t;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t));
end $function$;
