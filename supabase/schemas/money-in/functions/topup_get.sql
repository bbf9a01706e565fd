-- topup_get(uuid,uuid)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.topup_get(p_org_id uuid, p_top_up_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t))
       from top_ups t where t.id = p_top_up_id and t.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
