-- org_limits_set(uuid,integer,bigint,integer,integer)
--
-- Defined in 20261130001200_spend_controls.
--
-- Called by: shared/wallet/spend-controls-store.ts.
CREATE OR REPLACE FUNCTION public.org_limits_set(p_org_id uuid, p_max_concurrent_calls integer, p_daily_spend_limit bigint, p_max_call_seconds integer, p_max_numbers_per_day integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare w wallets%rowtype;
begin
  update wallets
     set max_concurrent_calls = p_max_concurrent_calls, daily_spend_limit = p_daily_spend_limit,
         max_call_seconds = p_max_call_seconds, max_numbers_per_day = p_max_numbers_per_day,
         version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return org_limits_json(w);
end $function$;
