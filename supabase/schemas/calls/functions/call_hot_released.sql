-- call_hot_released(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_hot_released: Redis has been seen with this settled call's entry no longer counting (the
-- release script answered: released now, released before, or no entry). Stamps
-- calls.hot_released_at, which takes the call off the sweeper's list (calls_due_for_hot_release).
-- Output:  {outcome: stamped | unchanged}  (unchanged: not settled, stamped before, or no row)
-- Effects: calls.hot_released_at := now() on a settled row not stamped yet.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206203711_settled_holds_released.
--
-- Called by: shared/calls/call-store.ts (shared/calls/call-billing.ts, after a release).
CREATE OR REPLACE FUNCTION public.call_hot_released(p_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update calls set hot_released_at = now()
   where call_id = p_call_id and settled_at is not null and hot_released_at is null;
  return jsonb_build_object('outcome', case when found then 'stamped' else 'unchanged' end);
end $function$;
