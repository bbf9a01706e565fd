-- org_limits_get(uuid)
--
-- Defined in 20261130001200_spend_controls.
--
-- Called by: shared/wallet/spend-controls-store.ts.
CREATE OR REPLACE FUNCTION public.org_limits_get(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce((select org_limits_json(w) from wallets w where w.org_id = p_org_id),
                  jsonb_build_object('outcome', 'not_found'))
$function$;
