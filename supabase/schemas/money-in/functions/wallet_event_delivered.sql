-- wallet_event_delivered(bigint)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_event_delivered(p_event_id bigint)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  update wallet_events set delivered_at = coalesce(delivered_at, now()) where id = p_event_id;
  select jsonb_build_object('outcome', 'delivered')
$function$;
