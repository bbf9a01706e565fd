-- outbound_call_defer(text,timestamp with time zone)
--
-- The call sweeper could not yet tell an outbound call's fate (Vapi's listing failed, or it is
-- too soon to say the call was never made): not looked at again before p_until.
-- Output: {outcome: deferred | unchanged}
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_defer(p_call_id text, p_until timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update outbound_calls set next_check_at = p_until where call_id = p_call_id and state = 'placing';
  return jsonb_build_object('outcome', case when found then 'deferred' else 'unchanged' end);
end $function$;
