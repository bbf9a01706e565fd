-- call_meter_get(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_meter_get: what a renewal or hang-up job needs to know of one call.
-- Output:  {outcome: found, org_id, live (not ended, not settled), hold: <call_hold_json>,
--          held_seconds, control_url, vapi_call_id} | {outcome: not_found}
--          vapi_call_id: Vapi's id of an outbound call we placed (outbound_calls, CONTRACT §10),
--          whose call id is ours; null for an inbound call (its call id is Vapi's) and for an
--          outbound call Vapi has not answered for. The hang-up asks Vapi's API about the call by it.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130000300_metered_holds, 20261130000700_call_controls,
-- 20261207001200_merge_outbound_with_main (the last is current: vapi_call_id).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_meter_get(p_call_id text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', c.org_id,
       'live', c.ended_at is null and c.settled_at is null and c.hold_state = 'held',
       'hold', call_hold_json(c), 'held_seconds', c.held_seconds,
       'control_url', (select cc.control_url from call_controls cc where cc.call_id = c.call_id),
       'vapi_call_id', (select o.vapi_call_id from outbound_calls o where o.call_id = c.call_id))
       from calls c where c.call_id = p_call_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
