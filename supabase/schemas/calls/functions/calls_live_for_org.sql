-- calls_live_for_org(uuid)
--
-- ---------------------------------------------------------------------------------------------
-- calls_live_for_org: the calls in progress of one organisation (admitted, neither ended nor
-- settled, unexpired), for ending them when the wallet is frozen. At most 10000.
-- Output:  {calls: [<call_hold_json>]}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001200_spend_controls.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.calls_live_for_org(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('calls', coalesce(jsonb_agg(call_hold_json(c)), '[]'::jsonb))
    from (select * from calls
           where org_id = p_org_id and hold_state = 'held' and ended_at is null
             and settled_at is null and hold_expires_at > now()
           order by admitted_at
           limit 10000) c
$function$;
