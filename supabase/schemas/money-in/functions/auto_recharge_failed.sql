-- auto_recharge_failed(uuid,text,text)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.auto_recharge_failed(p_top_up_id uuid, p_failure_code text, p_failure_message text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if not exists (select 1 from top_ups where id = p_top_up_id and source = 'auto_recharge') then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return top_up_fail(p_top_up_id, 'failed', coalesce(p_failure_code, 'unknown'), p_failure_message);
end $function$;
