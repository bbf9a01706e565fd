-- wallet_event_emit(uuid,text,jsonb)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_event_emit (internal): stores one customer event and, when the wallet has a webhook,
-- an outbox row to deliver it. data gains orgId, available and currency (CONTRACT §7).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in.
--
-- Called by: phone_number_release_finish(), phone_number_rent_charge(), top_up_fail(), wallet_freeze(), wallet_money_watch(), wallet_unfreeze().
CREATE OR REPLACE FUNCTION public.wallet_event_emit(p_org_id uuid, p_type text, p_data jsonb)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  w wallets%rowtype;
  v_id bigint;
  v_url text;
begin
  select * into w from wallets where org_id = p_org_id;
  insert into wallet_events (org_id, type, data)
  values (p_org_id, p_type, p_data || jsonb_build_object(
            'orgId', p_org_id, 'currency', w.currency,
            'available', w.balance - call_holds_sum(p_org_id, now())))
  returning id into v_id;
  select webhook_url into v_url from wallet_money_settings where org_id = p_org_id;
  if v_url is not null then
    insert into money_outbox (org_id, task, event_id) values (p_org_id, 'deliver_event', v_id);
  end if;
  return v_id;
end $function$;
