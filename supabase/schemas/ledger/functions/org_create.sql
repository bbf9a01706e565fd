-- org_create(text,uuid,text)
--
-- ---------------------------------------------------------------------------------------------
-- Organisations and reads. Reads are functions too, so that both data adapters (node-postgres
-- and supabase-js RPC) use one interface and no table needs to be exposed.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.org_create(p_name text, p_org_id uuid, p_currency text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_id uuid;
begin
  insert into organizations (id, name) values (coalesce(p_org_id, gen_random_uuid()), p_name)
  on conflict (id) do nothing
  returning id into v_id;
  if v_id is null then
    return jsonb_build_object('outcome', 'exists', 'org_id', p_org_id);
  end if;
  insert into wallets (org_id, currency) values (v_id, p_currency);
  return jsonb_build_object('outcome', 'created', 'org_id', v_id);
end $function$;
