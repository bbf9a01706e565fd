-- provision_sweep_candidates(timestamp with time zone,integer,integer,timestamp with time zone,uuid)
--
-- ---------------------------------------------------------------------------------------------
-- provision_sweep_candidates: one page of the requests the sweeper should look at, at p_now.
-- Inputs:  now, page size (1..1000), age in seconds after which a non-final request counts as
--          stuck, the cursor: sweep_due_at and id of the last row of the previous page (both
--          null for the first page; the exact text this function returned).
-- Output:  {items: [{id, status, attempts, max_attempts, updated_at, sweep_due_at,
--          sweep_deferrals}], stuck: n} ordered by (sweep_due_at, id): requests in
--          queued/provisioning/retrying/failed (failed = refund not yet done) that are due.
--          A page shorter than the page size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning, 20261130001300_provisioning_reconcile (the last is current).
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_sweep_candidates(p_now timestamp with time zone, p_limit integer, p_stuck_after_seconds integer, p_after_due_at timestamp with time zone, p_after_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if (p_after_due_at is null) <> (p_after_id is null) then
    raise exception 'provision_sweep_candidates: the cursor needs both sweep_due_at and id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'items', coalesce((select jsonb_agg(jsonb_build_object(
               'id', r.id, 'status', r.status, 'attempts', r.attempts,
               'max_attempts', r.max_attempts, 'updated_at', r.updated_at,
               'sweep_due_at', r.sweep_due_at, 'sweep_deferrals', r.sweep_deferrals)
               order by r.sweep_due_at, r.id)
          from (select * from provisioning_requests
                 where status in ('queued', 'provisioning', 'retrying', 'failed')
                   and sweep_due_at <= p_now
                   and (p_after_due_at is null or (sweep_due_at, id) > (p_after_due_at, p_after_id))
                 order by sweep_due_at, id
                 limit least(greatest(p_limit, 1), 1000)) r), '[]'::jsonb),
    'stuck', (select count(*) from provisioning_requests
               where status in ('queued', 'provisioning', 'retrying', 'failed')
                 and updated_at < p_now - make_interval(secs => p_stuck_after_seconds)));
end $function$;
