-- call_sweep_defer(text,timestamp with time zone)
--
-- ---------------------------------------------------------------------------------------------
-- call_sweep_defer: the sweeper could not finish a call (Vapi still reports it live, or asking
-- or settling failed): calls_due_for_sweep leaves it out until p_until.
-- Inputs:  call id, the time it may be looked at again (the sweeper's backoff, computed in
--          workers/call-sweeper.ts from sweep_deferrals).
-- Output:  {outcome: deferred | unchanged}   (unchanged: no such call, or already settled).
-- Effects: sets next_sweep_at and counts the deferral on an unsettled call.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130000500_sweep_paging.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_sweep_defer(p_call_id text, p_until timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if p_until is null then
    raise exception 'call_sweep_defer: p_until is required' using errcode = '22023';
  end if;
  update calls set next_sweep_at = p_until, sweep_deferrals = sweep_deferrals + 1
   where call_id = p_call_id and settled_at is null;
  return jsonb_build_object('outcome', case when found then 'deferred' else 'unchanged' end);
end $function$;
