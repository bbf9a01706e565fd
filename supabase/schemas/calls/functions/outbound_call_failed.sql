-- outbound_call_failed(text,text,jsonb)
--
-- ---------------------------------------------------------------------------------------------
-- outbound_call_failed: Vapi did not make the call (it refused POST /call with a 4xx, or the call
-- sweeper, long after the answer was lost, finds no such call in Vapi's listing): its hold ends
-- with no charge (settled_by not_found, as a call Vapi does not know), and the Idempotency-Key's
-- outcome becomes the failure answer.
-- Inputs:  our call id, why (logged, kept on the row), the answer's body.
-- Output:  {outcome: failed | unchanged | not_found, org_id?, state?}: unchanged when it was placed
--          or failed already (then nothing changes).
-- Effects: under the wallet row lock: outbound_calls 'placing' → 'failed'; the calls row settled
--          with its hold released; idempotency_keys.outcome {outcome: failed, answer}.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001100_call_rates_functions.
--
-- Called by: shared/calls/outbound-store.ts.
CREATE OR REPLACE FUNCTION public.outbound_call_failed(p_call_id text, p_failure text, p_answer jsonb)
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
  if o.state <> 'placing' then
    return jsonb_build_object('outcome', 'unchanged', 'org_id', o.org_id, 'state', o.state);
  end if;
  update outbound_calls set state = 'failed', failure = left(p_failure, 500) where call_id = p_call_id;
  update calls set settled_by = 'not_found', settled_at = now(), hold_state = 'released',
                   released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'outbound_not_placed')
   where call_id = p_call_id and settled_at is null;
  update idempotency_keys set outcome = jsonb_build_object('outcome', 'failed', 'answer', p_answer)
   where org_id = o.org_id and scope = 'call' and key = o.idempotency_key;
  return jsonb_build_object('outcome', 'failed', 'org_id', o.org_id);
end $function$;
