-- call_gate_cancel_hold(text)
--
-- A call that told us how to control it is a real call: a late store's hold for it is kept.
--
-- Defined in 20261130000300_metered_holds, 20261130000700_call_controls (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_gate_cancel_hold(p_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  delete from calls c
   where c.call_id = p_call_id and c.slices = 1 and c.ended_at is null and c.settled_at is null
     and not exists (select 1 from call_controls cc where cc.call_id = c.call_id)
     and not exists (select 1 from call_reports r where r.call_id = c.call_id);
  if found then
    return jsonb_build_object('outcome', 'cancelled');
  end if;
  return jsonb_build_object('outcome',
    case when exists (select 1 from calls where call_id = p_call_id) then 'kept' else 'not_found' end);
end $function$;
