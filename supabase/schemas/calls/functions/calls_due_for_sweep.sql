-- calls_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text)
--
-- ---------------------------------------------------------------------------------------------
-- calls_due_for_sweep: one page of the calls the sweeper should settle from Vapi at p_now.
-- Inputs:  now, grace (seconds a report may lag behind the end of its call), page size (1..1000),
--          the cursor: hold_expires_at and call_id of the last row of the previous page (both
--          null for the first page; the exact text this function returned, not a rounded time).
-- Output:  {missing: [{call_id, org_id, hold_expires_at, sweep_deferrals}]} ordered by
--          (hold_expires_at, call_id): admitted calls with no report whose hold expired, or which
--          ended more than the grace ago (their report is considered lost, failure mode 19),
--          leaving out calls deferred past p_now (call_sweep_defer). A page shorter than the page
--          size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls, 20261130000500_sweep_paging (the last is current).
--
-- Called by: shared/calls/call-store.ts.
--
-- (from 20261207001100_call_rates_functions)
-- Outbound calls (outbound_calls) are keyed by our call id: each row carries Vapi's id
-- (vapi_call_id, null for inbound calls, whose call id is Vapi's), and an outbound call Vapi has
-- not answered for yet ('placing') is left to the outbound sweep (outbound_calls_placing), which
-- learns its fate from Vapi's listing first.
CREATE OR REPLACE FUNCTION public.calls_due_for_sweep(p_now timestamp with time zone, p_grace_seconds integer, p_limit integer, p_after_expires_at timestamp with time zone, p_after_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if (p_after_expires_at is null) <> (p_after_call_id is null) then
    raise exception 'calls_due_for_sweep: the cursor needs both hold_expires_at and call_id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'missing', coalesce((select jsonb_agg(jsonb_build_object(
         'call_id', x.call_id, 'org_id', x.org_id, 'hold_expires_at', x.hold_expires_at,
         'sweep_deferrals', x.sweep_deferrals, 'vapi_call_id', x.vapi_call_id) order by x.hold_expires_at, x.call_id)
       from (select c.call_id, c.org_id, c.hold_expires_at, c.sweep_deferrals, o.vapi_call_id from calls c
               left join outbound_calls o on o.call_id = c.call_id
              where c.settled_at is null
                and (o.call_id is null or o.state = 'placed')
                and (p_after_expires_at is null
                     or (c.hold_expires_at, c.call_id) > (p_after_expires_at, p_after_call_id))
                and (c.next_sweep_at is null or c.next_sweep_at <= p_now)
                and not exists (select 1 from call_reports r where r.call_id = c.call_id)
                and (c.hold_expires_at <= p_now
                     or coalesce(c.ended_at, c.released_at) <= p_now - make_interval(secs => p_grace_seconds))
              order by c.hold_expires_at, c.call_id
              limit least(greatest(p_limit, 1), 1000)) x), '[]'::jsonb));
end $function$;
