-- call_gate_org_key(text)
--
-- The sort key of an element: its org id as a uuid, or null for one that is not a uuid (it fails
-- on its own below, before it locks anything). The canonical form is checked without a
-- subtransaction; any other spelling Postgres accepts is tried in one.
--
-- Defined in 20261201000100_call_gate_admit_batch.
--
-- Called by: call_gate_admit_batch(), call_gate_admit_many(), call_gate_record_holds(), call_hold_end(), call_holds_upsert().
CREATE OR REPLACE FUNCTION public.call_gate_org_key(p_org_id text)
 RETURNS uuid
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if p_org_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return p_org_id::uuid;
  end if;
  begin
    return p_org_id::uuid;
  exception when others then
    return null;
  end;
end $function$;
