-- wallet_stripe_customer(uuid,text)
--
-- The Stripe customer of a wallet: the first one recorded wins (internal helper + public setter).
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_stripe_customer(p_org_id uuid, p_customer_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v text;
begin
  if not exists (select 1 from wallets where org_id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into wallet_money_settings (org_id) values (p_org_id) on conflict (org_id) do nothing;
  if p_customer_id is not null then
    update wallet_money_settings set stripe_customer_id = p_customer_id, updated_at = now()
     where org_id = p_org_id and stripe_customer_id is null;
  end if;
  select stripe_customer_id into v from wallet_money_settings where org_id = p_org_id;
  return jsonb_build_object('outcome', 'found', 'customer_id', v);
end $function$;
