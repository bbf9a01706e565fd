-- wallet_events_list(uuid,bigint,integer)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_events_list(p_org_id uuid, p_before_id bigint, p_limit integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', e.id, 'type', e.type, 'data', e.data, 'created_at', e.created_at) order by e.id desc), '[]'::jsonb))
    from (select * from wallet_events
           where org_id = p_org_id and (p_before_id is null or id < p_before_id)
           order by id desc
           limit least(greatest(p_limit, 1), 1000)) e
$function$;
