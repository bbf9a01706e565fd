-- outbound_call_placed(text,text,jsonb)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_call_placed: Vapi made the call (its POST /call answer, or the call sweeper found it in
-- Vapi's listing after that answer was lost): the call's row takes Vapi's id, and the
-- Idempotency-Key's outcome becomes the answer, so a replay gets it and never places another call.
-- Inputs:  our call id, Vapi's call id, the 201 answer's body.
-- Output:  {outcome: placed | already | failed | not_found, org_id?, vapi_call_id?}: already when it
--          was placed before (the answer kept is the first), failed when the sweeper had given it
--          up (its hold released): the caller logs that call; nothing is charged twice either way.
-- Effects: outbound_calls 'placing' → 'placed' with vapi_call_id; idempotency_keys.outcome
--          {outcome: placed, answer}.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_placed(p_call_id text, p_vapi_call_id text, p_answer jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  o outbound_calls%rowtype;
begin
  if jsonb_typeof(p_answer) = 'string' then
    p_answer := (p_answer #>> '{}')::jsonb;
  end if;
  select * into o from outbound_calls where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  perform 1 from wallets where org_id = o.org_id for update;
  select * into o from outbound_calls where call_id = p_call_id for update;
  if o.state = 'placed' then
    return jsonb_build_object('outcome', 'already', 'org_id', o.org_id, 'vapi_call_id', o.vapi_call_id);
  elsif o.state = 'failed' then
    return jsonb_build_object('outcome', 'failed', 'org_id', o.org_id);
  end if;
  update outbound_calls set state = 'placed', vapi_call_id = p_vapi_call_id, placed_at = now()
   where call_id = p_call_id;
  update idempotency_keys set outcome = jsonb_build_object('outcome', 'placed', 'answer', p_answer)
   where org_id = o.org_id and scope = 'call' and key = o.idempotency_key;
  return jsonb_build_object('outcome', 'placed', 'org_id', o.org_id, 'vapi_call_id', p_vapi_call_id);
end $function$;
