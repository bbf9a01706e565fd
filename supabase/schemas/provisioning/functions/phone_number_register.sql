-- phone_number_register(uuid,text,text,text)
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.phone_number_register(p_org_id uuid, p_e164 text, p_vapi_phone_number_id text, p_assistant_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_id uuid;
begin
  if not exists (select 1 from organizations where id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into phone_numbers (org_id, e164, vapi_phone_number_id, assistant_id, source)
  values (p_org_id, p_e164, p_vapi_phone_number_id, p_assistant_id, 'registered')
  on conflict do nothing
  returning id into v_id;
  if v_id is null then
    return jsonb_build_object('outcome', 'number_taken');
  end if;
  return jsonb_build_object('outcome', 'registered', 'id', v_id, 'org_id', p_org_id,
    'e164', p_e164, 'vapi_phone_number_id', p_vapi_phone_number_id,
    'assistant_id', p_assistant_id);
end $function$;
