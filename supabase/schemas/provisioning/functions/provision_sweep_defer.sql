-- provision_sweep_defer(uuid,timestamp with time zone)
--
-- ---------------------------------------------------------------------------------------------
-- provision_sweep_defer: the sweeper found nothing to do for a request now (its job or refund
-- job is alive, or repairing it failed): provision_sweep_candidates leaves it out until p_until.
-- Inputs:  request id, when it may be looked at again (the backoff, computed in
--          workers/provisioning-sweeper.ts from sweep_deferrals).
-- Output:  {outcome: deferred | unchanged}   (unchanged: no such request, or already final).
-- Effects: sets sweep_due_at and counts the deferral; updated_at is left alone (it dates the
--          last transition, which the stuck gauge measures).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001300_provisioning_reconcile.
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_sweep_defer(p_request_id uuid, p_until timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if p_until is null then
    raise exception 'provision_sweep_defer: p_until is required' using errcode = '22023';
  end if;
  update provisioning_requests set sweep_due_at = p_until, sweep_deferrals = sweep_deferrals + 1
   where id = p_request_id and status in ('queued', 'provisioning', 'retrying', 'failed');
  return jsonb_build_object('outcome', case when found then 'deferred' else 'unchanged' end);
end $function$;
