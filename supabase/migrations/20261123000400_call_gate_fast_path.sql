-- The call gate's fast path (docs/call-gate.md, docs/benchmarks.md): one round trip per decision
-- on the Postgres fallback, and Redis-path holds recorded in Postgres in batches.

-- ---------------------------------------------------------------------------------------------
-- call_gate_plan_hold: the hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, in
-- exact integer arithmetic, so that the fallback decides in one call. Not a second source of
-- prices: every price comes in as an argument from Config.pricing, and test/calls proves the
-- result equal to planHold() for many inputs.
-- Inputs:  available, rate per minute, CALL_MIN_BALANCE, safety margin (s), Vapi's duration bounds (s).
-- Output:  array[amount, max_duration_seconds], or null when the call must be refused.
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
create function call_gate_plan_hold(
  p_available bigint, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer
) returns bigint[]
language plpgsql immutable security definer set search_path = public, pg_temp as $$
declare
  v_seconds bigint;
  v_amount bigint;
begin
  if p_rate_per_minute <= 0 then
    raise exception 'call_gate_plan_hold: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_available < p_min_balance then
    return null;
  end if;
  -- floor(max(available, 0) × 60 ÷ rate) − margin, clamped to Vapi's bounds (pricing.maxDurationSeconds).
  v_seconds := least(p_max_duration_seconds::bigint, greatest(p_min_duration_seconds::bigint,
                 (greatest(p_available, 0) * 60) / p_rate_per_minute - p_safety_margin_seconds));
  -- max(ceil(seconds × rate ÷ 60), CALL_MIN_BALANCE) (pricing.callCharge).
  v_amount := greatest((v_seconds * p_rate_per_minute + 59) / 60, p_min_balance);
  if v_amount > p_available then
    return null;
  end if;
  return array[v_amount, v_seconds];
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_admit: the whole Postgres-side admission in one call (probe, plan and hold), used
-- when Redis is unavailable.
-- Inputs:  org, call id, rate per minute, CALL_MIN_BALANCE, safety margin (s), hold grace (s),
--          Vapi's duration bounds (s).
-- Output:  {outcome: existing, hold_amount, max_duration_seconds, hold_state}
--          | {outcome: available, available}        (refused: not enough for any hold)
--          | {outcome: held, hold_amount, max_duration_seconds, available}
--          | {outcome: not_found}
-- Effects: at most one calls row per call id, planned and inserted under the wallet row lock, so
--          concurrent admissions of one organisation see each other's holds (failure mode 17).
-- ---------------------------------------------------------------------------------------------
create function call_gate_admit(
  p_org_id uuid, p_call_id text, p_rate_per_minute bigint, p_min_balance bigint,
  p_safety_margin_seconds integer, p_hold_grace_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  v_balance bigint;
  v_available bigint;
  v_plan bigint[];
begin
  select balance into v_balance from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'existing', 'hold_amount', c.hold_amount,
      'max_duration_seconds', c.max_duration_seconds, 'hold_state', c.hold_state);
  end if;
  v_available := v_balance - call_holds_sum(p_org_id, now());
  v_plan := call_gate_plan_hold(v_available, p_rate_per_minute, p_min_balance,
    p_safety_margin_seconds, p_min_duration_seconds, p_max_duration_seconds);
  if v_plan is null then
    return jsonb_build_object('outcome', 'available', 'available', v_available);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path)
  values (p_call_id, p_org_id, v_plan[1], v_plan[2],
          now() + make_interval(secs => v_plan[2] + p_hold_grace_seconds), 'database_fallback');
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[1],
    'max_duration_seconds', v_plan[2], 'available', v_available - v_plan[1]);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_record_holds: records in one statement a batch of holds the Redis path already
-- decided (no funds check: Redis decided atomically).
-- Inputs:  p_holds jsonb array (or a jsonb string holding one) of {call_id, org_id, amount, max_duration_seconds, expires_at_ms},
--          at most 1000 entries.
-- Output:  {recorded: n} — rows inserted (a call id already present is left as it is).
-- Effects: at most one calls row per call id (admitted_path 'cache').
-- ---------------------------------------------------------------------------------------------
create function call_gate_record_holds(p_holds jsonb) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  v_count integer;
begin
  -- The RPC adapters pass scalars only: the array arrives as JSON text inside a jsonb string
  -- through PostgREST, or as the array itself through node-postgres.
  if jsonb_typeof(p_holds) = 'string' then
    p_holds := (p_holds #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_holds) is distinct from 'array' or jsonb_array_length(p_holds) > 1000 then
    raise exception 'call_gate_record_holds: expected an array of at most 1000 holds' using errcode = '22023';
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path)
  select h.call_id, h.org_id, h.amount, h.max_duration_seconds,
         to_timestamp(h.expires_at_ms / 1000.0), 'cache'
    from jsonb_to_recordset(p_holds)
      as h(call_id text, org_id uuid, amount bigint, max_duration_seconds integer, expires_at_ms bigint)
    -- An organisation that no longer exists must not fail the rest of the batch.
    join organizations o on o.id = h.org_id
  on conflict (call_id) do nothing;
  get diagnostics v_count = row_count;
  return jsonb_build_object('recorded', v_count);
end $$;

-- call_gate_plan_hold is internal (called by call_gate_admit): granted to nobody.
revoke execute on function call_gate_plan_hold(bigint, bigint, bigint, integer, integer, integer)
from public, anon, authenticated, service_role;
revoke execute on function
  call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer),
  call_gate_record_holds(jsonb)
from public, anon, authenticated;
grant execute on function
  call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer),
  call_gate_record_holds(jsonb)
to service_role;
