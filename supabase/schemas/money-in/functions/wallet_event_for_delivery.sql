-- wallet_event_for_delivery(bigint)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_event_for_delivery(p_event_id bigint)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'id', e.id, 'org_id', e.org_id, 'type', e.type,
       'data', e.data, 'created_at', e.created_at, 'delivered', e.delivered_at is not null,
       'webhook_url', s.webhook_url, 'signing_secret', s.signing_secret)
       from wallet_events e left join wallet_money_settings s on s.org_id = e.org_id
      where e.id = p_event_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
