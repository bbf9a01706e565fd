-- call_settled(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_settled: whether the call is settled in Postgres — its row settled (charged from its
-- report, by the sweeper, or as unknown to Vapi), or its report billed (a report can be billed
-- before the call's row is written). Asked by a renewal before it grows a call's Redis hold: a
-- settled call's hold must never grow; its Redis entry is released instead (issue 22, item 1).
-- Output:  {settled: boolean, org_id: uuid | null}
-- Effects: none. Two primary-key probes.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206203711_settled_holds_released.
--
-- Called by: shared/calls/call-store.ts (shared/calls/call-meter.ts, before a renewal).
CREATE OR REPLACE FUNCTION public.call_settled(p_call_id text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'settled', exists (select 1 from calls c where c.call_id = p_call_id and c.settled_at is not null)
            or exists (select 1 from call_reports r where r.call_id = p_call_id and r.billed_at is not null),
    'org_id', coalesce((select c.org_id from calls c where c.call_id = p_call_id),
                       (select r.org_id from call_reports r where r.call_id = p_call_id)))
$function$;
