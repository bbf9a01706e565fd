-- money_outbox_done(bigint)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_done(p_id bigint)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  update money_outbox set done_at = now() where id = p_id and done_at is null;
  select jsonb_build_object('outcome', 'done')
$function$;
