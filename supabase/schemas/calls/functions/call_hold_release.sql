-- call_hold_release(text,text)
--
-- ---------------------------------------------------------------------------------------------
-- call_hold_release: ends a call's hold (status-update "ended", billing, or the sweeper).
-- Inputs:  call id, cause.
-- Output:  {outcome: released | already_released, org_id} | {outcome: not_found}.
-- Effects: marks the hold released once; never deletes the row (it is the call's record).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_hold_release(p_call_id text, p_cause text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare c calls%rowtype;
begin
  update calls set hold_state = 'released', released_at = now(), release_cause = left(p_cause, 100)
   where call_id = p_call_id and hold_state = 'held'
  returning * into c;
  if found then
    return jsonb_build_object('outcome', 'released', 'org_id', c.org_id);
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'already_released', 'org_id', c.org_id);
  end if;
  return jsonb_build_object('outcome', 'not_found');
end $function$;
