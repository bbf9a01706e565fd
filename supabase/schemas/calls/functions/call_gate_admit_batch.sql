-- call_gate_admit_batch(jsonb,bigint,bigint,integer,integer,integer,integer,text,integer)
--
-- (from 20261207001100_call_rates_functions)
-- Each element may carry its own rate (rate_per_minute, connect_fee, minimum_seconds,
-- increment_seconds, rate_prefix: the rate fixed at the call's admission, CONTRACT §10); an
-- element without one is planned at p_rate_per_minute, no connect fee, no minimum, increments of 1 s.
--
-- (from 20261201000700_admit_batch_one_insert)
-- call_gate_admit_batch (20261201000100) decides a batch with one INSERT instead of one per
-- admission. Found profiling benchmark b (issue 15; Redis down, every answer from Postgres): each
-- admission's INSERT built a new executor and with it the `calls` CHECKs from their stored node
-- trees, its indexes and its foreign-key trigger (`perf`: ExecConstraints 15% and ExecutorStart
-- 15% of Postgres's CPU; `auto_explain`: ≈ 235 µs of an admission's ≈ 370 in nested statements),
-- and ran the money watch, a function call that returns at once for most organisations.
--
-- (from 20261201000100_call_gate_admit_batch)
-- call_gate_admit_batch: several Postgres-path admissions (Redis down) in one transaction. On a
-- small VM about a third of each call_gate_admit's cost is its own transaction and round trip
-- (issue 15, benchmark b); the gate groups admissions that wait at the same moment and sends them
-- here together (shared/calls/call-gate.ts).
--
-- Defined in 20261201000100_call_gate_admit_batch, 20261201000700_admit_batch_one_insert (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_gate_admit_batch(p_calls jsonb, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  e record;
  v_out jsonb[];
  v_done boolean := false;
begin
  -- As call_gate_record_holds: PostgREST passes the array as JSON text inside a jsonb string,
  -- node-postgres as the array itself.
  if jsonb_typeof(p_calls) = 'string' then
    p_calls := (p_calls #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_calls) is distinct from 'array' or jsonb_array_length(p_calls) > 64 then
    raise exception 'call_gate_admit_batch: expected an array of at most 64 calls' using errcode = '22023';
  end if;
  -- The whole batch at once when nothing in it raises.
  begin
    v_out := call_gate_admit_many(p_calls, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
      p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds);
    v_done := true;
  exception when others then
    -- Rolled back whole, wallet locks included; decided again below, element by element.
    null;
  end;
  if v_done then
    return to_jsonb(v_out);
  end if;
  v_out := array_fill(null::jsonb, array[jsonb_array_length(p_calls)]);
  for e in
    select x.value as el, x.ordinality as idx, call_gate_org_key(x.value->>'org_id') as org_id
      from jsonb_array_elements(p_calls) with ordinality x
     order by 3 nulls last, x.ordinality
  loop
    begin
      v_out[e.idx] := call_gate_admit(
        coalesce(e.org_id, (e.el->>'org_id')::uuid), e.el->>'call_id',
        coalesce((e.el->>'rate_per_minute')::bigint, p_rate_per_minute), p_min_balance,
        p_safety_margin_seconds, p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds,
        p_policy, p_hold_seconds, (e.el->>'now')::timestamptz,
        coalesce((e.el->>'connect_fee')::bigint, 0), coalesce((e.el->>'minimum_seconds')::integer, 0),
        coalesce((e.el->>'increment_seconds')::integer, 1), e.el->>'rate_prefix');
    exception when others then
      v_out[e.idx] := jsonb_build_object('outcome', 'error', 'message', sqlerrm);
    end;
  end loop;
  return to_jsonb(v_out);
end $function$;
