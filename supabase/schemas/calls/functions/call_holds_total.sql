-- call_holds_total(uuid)
--
-- Sum of live holds, for GET /api/wallet when Redis cannot say.
--
-- Defined in 20261123000300_calls.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_holds_total(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('held', call_holds_sum(p_org_id, now()))
$function$;
