-- call_settle_not_found(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_settle_not_found: Vapi does not know the call: end its hold without a charge.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000300_calls.
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_settle_not_found(p_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update calls set settled_by = 'not_found', settled_at = now(), hold_state = 'released',
                   released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'vapi_not_found')
   where call_id = p_call_id and settled_at is null;
  return jsonb_build_object('outcome', case when found then 'settled' else 'unchanged' end);
end $function$;
