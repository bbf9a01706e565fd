-- calls_settled_in_batches: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: call_settled, calls_settled.

drop function call_settled(text);

-- calls_settled(text[])
--
-- ---------------------------------------------------------------------------------------------
-- calls_settled: which of these calls are settled in Postgres — the row settled (charged from its
-- report, by the sweeper, or as unknown to Vapi), or the report billed (a report can be billed
-- before the call's row is written). Asked by renewals before they grow a call's Redis hold: a
-- settled call's hold must never grow; its Redis entry is released instead (issue 22, item 1).
-- The meter asks for the renewals running at the same moment together (one statement per batch,
-- shared/calls/call-meter.ts), where call_settled (20261206203711, dropped here) took one
-- statement per renewal: at 750 renewals a second that was 750 statements.
-- Inputs:  at most 1000 call ids.
-- Output:  {settled: [call id, …]} (each settled one once, in the order given)
-- Effects: none. Two primary-key probes per id.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001600_calls_settled_in_batches.
--
-- Called by: shared/calls/call-store.ts (shared/calls/call-meter.ts, before renewals).
CREATE OR REPLACE FUNCTION public.calls_settled(p_call_ids text[])
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if coalesce(cardinality(p_call_ids), 0) > 1000 then
    raise exception 'calls_settled: at most 1000 ids' using errcode = '22023';
  end if;
  return jsonb_build_object('settled', coalesce((
    select jsonb_agg(x.id order by x.i)
      from (select distinct on (id) id, i from unnest(p_call_ids) with ordinality u(id, i) order by id, i) x
     where exists (select 1 from calls c where c.call_id = x.id and c.settled_at is not null)
        or exists (select 1 from call_reports r where r.call_id = x.id and r.billed_at is not null)), '[]'::jsonb));
end $function$;

revoke all on function calls_settled(text[]) from public, anon, authenticated, service_role;
grant execute on function calls_settled(text[]) to service_role;
