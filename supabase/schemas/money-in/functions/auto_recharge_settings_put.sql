-- auto_recharge_settings_put(uuid,boolean,bigint,bigint)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.auto_recharge_settings_put(p_org_id uuid, p_enabled boolean, p_threshold bigint, p_amount bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare s wallet_money_settings%rowtype;
begin
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into wallet_money_settings (org_id) values (p_org_id) on conflict (org_id) do nothing;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if p_enabled and s.payment_method_id is null then
    return jsonb_build_object('outcome', 'no_payment_method', 'settings', auto_recharge_json(s));
  end if;
  update wallet_money_settings
     set recharge_enabled = p_enabled, recharge_threshold = p_threshold, recharge_amount = p_amount,
         recharge_failures = case when p_enabled and not recharge_enabled then 0 else recharge_failures end,
         updated_at = now()
   where org_id = p_org_id;
  perform wallet_money_watch(p_org_id);
  select * into s from wallet_money_settings where org_id = p_org_id;
  return jsonb_build_object('outcome', 'found', 'settings', auto_recharge_json(s));
end $function$;
