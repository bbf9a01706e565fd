-- call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- call_report_record: keeps the first end-of-call report of a call id.
-- Inputs:  call id, organisation named by the call's metadata (may be null), the called number's
--          Vapi id and E.164 (may be null), startedAt, endedAt, durationSeconds, endedReason, source,
--          and who called whom: the caller's and the called number (each may be null; the called
--          number defaults to the E.164 given, else the number registered under the Vapi id).
-- Output:  {outcome: recorded | duplicate, org_id (or null), billed}.
-- Effects: at most one call_reports row per call id. The organisation is taken from the call's
--          hold, else the metadata (if such an organisation exists), else the number.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls; the numbers since 20261206210100_usage_statements_receipts.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_report_record(p_call_id text, p_org_id uuid, p_vapi_phone_number_id text, p_e164 text, p_started_at timestamp with time zone, p_ended_at timestamp with time zone, p_duration_seconds numeric, p_ended_reason text, p_source text, p_from_number text DEFAULT NULL::text, p_to_number text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  v_to text;
  r call_reports%rowtype;
begin
  select * into r from call_reports where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'duplicate', 'org_id', r.org_id, 'billed', r.billed_at is not null);
  end if;
  select org_id into v_org from calls where call_id = p_call_id;
  if v_org is null and p_org_id is not null then
    select id into v_org from organizations where id = p_org_id;
  end if;
  if v_org is null then
    v_org := (phone_number_resolve(p_vapi_phone_number_id, p_e164)->>'org_id')::uuid;
  end if;
  v_to := coalesce(p_to_number, p_e164);
  if v_to is null and p_vapi_phone_number_id is not null then
    select e164 into v_to from phone_numbers where vapi_phone_number_id = p_vapi_phone_number_id
     order by released_at desc nulls first limit 1;
  end if;
  -- Numbers are what the calls list shows: kept only when they fit (anything else reads as absent).
  insert into call_reports (call_id, org_id, started_at, ended_at, duration_seconds, ended_reason, source,
                            from_number, to_number)
  values (p_call_id, v_org, p_started_at, p_ended_at, p_duration_seconds, left(p_ended_reason, 200), p_source,
          case when length(p_from_number) between 1 and 40 then p_from_number end,
          case when length(v_to) between 1 and 40 then v_to end)
  on conflict (call_id) do nothing
  returning * into r;
  if not found then
    select * into r from call_reports where call_id = p_call_id;
    return jsonb_build_object('outcome', 'duplicate', 'org_id', r.org_id, 'billed', r.billed_at is not null);
  end if;
  return jsonb_build_object('outcome', 'recorded', 'org_id', v_org, 'billed', false);
end $function$;
