-- call_reports_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text)
--
-- ---------------------------------------------------------------------------------------------
-- call_reports_due_for_sweep: one page of the reports whose billing the sweeper should re-drive.
-- Inputs:  now, grace, page size (1..1000), the cursor: received_at and call_id of the last row
--          of the previous page (both null for the first page; the exact text returned).
-- Output:  {unbilled: [{call_id, received_at}]} ordered by (received_at, call_id): reports with
--          an organisation recorded but not billed for more than the grace. A page shorter than
--          the page size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130000500_sweep_paging.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_reports_due_for_sweep(p_now timestamp with time zone, p_grace_seconds integer, p_limit integer, p_after_received_at timestamp with time zone, p_after_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if (p_after_received_at is null) <> (p_after_call_id is null) then
    raise exception 'call_reports_due_for_sweep: the cursor needs both received_at and call_id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'unbilled', coalesce((select jsonb_agg(jsonb_build_object('call_id', y.call_id, 'received_at', y.received_at)
         order by y.received_at, y.call_id)
       from (select r.call_id, r.received_at from call_reports r
              where r.billed_at is null and r.org_id is not null
                and (p_after_received_at is null
                     or (r.received_at, r.call_id) > (p_after_received_at, p_after_call_id))
                and r.received_at <= p_now - make_interval(secs => p_grace_seconds)
              order by r.received_at, r.call_id
              limit least(greatest(p_limit, 1), 1000)) y), '[]'::jsonb));
end $function$;
