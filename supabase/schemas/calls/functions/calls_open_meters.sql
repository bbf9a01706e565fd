-- calls_open_meters(text,integer)
--
-- ---------------------------------------------------------------------------------------------
-- calls_open_meters: live metered calls after a call id (keyset paging), for the sweeper to
-- re-create renewal jobs Redis lost and to copy holds back into an emptied Redis.
-- Output:  {calls: [{org_id, hold: <call_hold_json>, held_seconds}]}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130000300_metered_holds.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.calls_open_meters(p_after_call_id text, p_limit integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('calls', coalesce(jsonb_agg(x.j order by x.call_id), '[]'::jsonb))
    from (select c.call_id, jsonb_build_object('org_id', c.org_id, 'hold', call_hold_json(c),
                   'held_seconds', c.held_seconds) as j
            from calls c
           where c.settled_at is null and c.hold_state = 'held' and c.hold_expires_at > now()
             and (p_after_call_id is null or c.call_id > p_after_call_id)
           order by c.call_id
           limit least(greatest(p_limit, 1), 1000)) x
$function$;
