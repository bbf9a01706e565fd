-- auto_recharge_settings_get(uuid)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.auto_recharge_settings_get(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare s wallet_money_settings%rowtype;
begin
  if not exists (select 1 from wallets where org_id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into s from wallet_money_settings where org_id = p_org_id;
  if not found then
    s.org_id := p_org_id; s.recharge_enabled := false; s.recharge_threshold := 0; s.recharge_amount := 0;
    s.recharge_failures := 0;
  end if;
  return jsonb_build_object('outcome', 'found', 'settings', auto_recharge_json(s));
end $function$;
