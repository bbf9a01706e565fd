-- call_gate_admit_batch: several Postgres-path admissions (Redis down) in one transaction. On a
-- small VM about a third of each call_gate_admit's cost is its own transaction and round trip
-- (issue 15, benchmark b); the gate groups admissions that wait at the same moment and sends them
-- here together (shared/calls/call-gate.ts).
--
-- Inputs:  p_calls, a JSON array of {org_id, call_id, now?} (now: ISO time, default now()); the
--          terms every element shares, as call_gate_admit takes them.
-- Returns: a JSON array, in input order, of what call_gate_admit returns for each element, or
--          {"outcome":"error","message":…} for an element that raised.
--
-- Each element is decided by call_gate_admit itself, so the batch cannot drift from the one-call
-- rules. Elements run in org_id order (then input order): call_gate_admit locks its wallet and
-- keeps it locked to the end of the transaction, so a batch takes its wallets in the same order as
-- every other multi-wallet function (call_gate_record_holds sorts before it locks) and no two of
-- them can deadlock. Each element runs in its own exception block (a subtransaction): one that
-- raises is rolled back alone and the others are still decided and committed.
--
-- At most 64 elements: each one's subtransaction takes an xid (it locks a row), and a transaction
-- with more than 64 subtransaction xids overflows the per-backend cache, which makes every other
-- session's snapshots look in pg_subtrans.

-- The sort key of an element: its org id as a uuid, or null for one that is not a uuid (it fails
-- on its own below, before it locks anything). The canonical form is checked without a
-- subtransaction; any other spelling Postgres accepts is tried in one.
create function call_gate_org_key(p_org_id text) returns uuid
language plpgsql immutable set search_path = public, pg_temp as $$
begin
  if p_org_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' then
    return p_org_id::uuid;
  end if;
  begin
    return p_org_id::uuid;
  exception when others then
    return null;
  end;
end $$;

create function call_gate_admit_batch(
  p_calls jsonb, p_rate_per_minute bigint, p_min_balance bigint,
  p_safety_margin_seconds integer, p_hold_grace_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  e record;
  v_out jsonb[];
begin
  -- As call_gate_record_holds: PostgREST passes the array as JSON text inside a jsonb string,
  -- node-postgres as the array itself.
  if jsonb_typeof(p_calls) = 'string' then
    p_calls := (p_calls #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_calls) is distinct from 'array' or jsonb_array_length(p_calls) > 64 then
    raise exception 'call_gate_admit_batch: expected an array of at most 64 calls' using errcode = '22023';
  end if;
  v_out := array_fill(null::jsonb, array[jsonb_array_length(p_calls)]);
  for e in
    select x.value as el, x.ordinality as idx, call_gate_org_key(x.value->>'org_id') as org_id
      from jsonb_array_elements(p_calls) with ordinality x
     order by 3 nulls last, x.ordinality
  loop
    begin
      v_out[e.idx] := call_gate_admit(
        coalesce(e.org_id, (e.el->>'org_id')::uuid), e.el->>'call_id', p_rate_per_minute, p_min_balance,
        p_safety_margin_seconds, p_hold_grace_seconds, p_min_duration_seconds, p_max_duration_seconds,
        p_policy, p_hold_seconds, (e.el->>'now')::timestamptz);
    exception when others then
      v_out[e.idx] := jsonb_build_object('outcome', 'error', 'message', sqlerrm);
    end;
  end loop;
  return to_jsonb(v_out);
end $$;

revoke execute on function call_gate_org_key(text) from public, anon, authenticated, service_role;
revoke execute on function
  call_gate_admit_batch(jsonb, bigint, bigint, integer, integer, integer, integer, text, integer)
from public, anon, authenticated;
grant execute on function
  call_gate_admit_batch(jsonb, bigint, bigint, integer, integer, integer, integer, text, integer)
to service_role;
