-- Metered holds (issue 10, docs/call-gate.md "Hold lifecycle"): admission under either policy,
-- renewal slice by slice, the "ended" resize, compensation of a hold placed for a refused call,
-- and the records the renewal jobs and the sweeper work from. Every function decides under the
-- wallet row lock (or touches one call row), so concurrent admissions and renewals of one
-- organisation see each other's holds (failure mode 17).

-- ---------------------------------------------------------------------------------------------
-- call_gate_plan_hold: the hold policy of shared/calls/hold-policy.ts over shared/pricing.ts, in
-- exact integer arithmetic. Every price comes in as an argument from Config.pricing; test/calls
-- proves the result equal to planHold() for many inputs.
-- Inputs:  available, rate per minute, CALL_MIN_BALANCE, safety margin (s), Vapi's duration
--          bounds (s), policy ('metered' | 'full'), CALL_HOLD_SECONDS.
-- Output:  array[amount, max_duration_seconds, cap, held_seconds], or null when refused.
-- ---------------------------------------------------------------------------------------------
drop function call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer);
drop function call_gate_plan_hold(bigint, bigint, bigint, integer, integer, integer);

create function call_gate_plan_hold(
  p_available bigint, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer
) returns bigint[]
language plpgsql immutable security definer set search_path = public, pg_temp as $$
declare
  v_seconds bigint;
  v_cap bigint;
  v_amount bigint;
begin
  if p_rate_per_minute <= 0 then
    raise exception 'call_gate_plan_hold: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_policy not in ('metered', 'full') then
    raise exception 'call_gate_plan_hold: unknown policy %', p_policy using errcode = '22023';
  end if;
  if p_available < p_min_balance then
    return null;
  end if;
  v_seconds := least(p_max_duration_seconds::bigint, greatest(p_min_duration_seconds::bigint,
                 (greatest(p_available, 0) * 60) / p_rate_per_minute - p_safety_margin_seconds));
  v_cap := (v_seconds * p_rate_per_minute + 59) / 60;
  v_amount := v_cap;
  if p_policy = 'metered' then
    v_amount := least((p_hold_seconds::bigint * p_rate_per_minute + 59) / 60, v_cap);
  end if;
  v_amount := greatest(v_amount, p_min_balance);
  if v_amount > p_available then
    return null;
  end if;
  return array[v_amount, v_seconds, v_cap, least(v_seconds, (v_amount * 60) / p_rate_per_minute)];
end $$;

-- The shape both the snapshot and the admission report a hold in (internal).
create function call_hold_json(c calls) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object(
    'call_id', c.call_id,
    'state', case when c.ended_at is null then 'held' else 'ended' end,
    'amount', c.hold_amount,
    'max_duration_seconds', c.max_duration_seconds,
    'expires_at_ms', (extract(epoch from c.hold_expires_at) * 1000)::bigint,
    'admitted_at_ms', (extract(epoch from c.admitted_at) * 1000)::bigint,
    'cap', coalesce(c.hold_cap, c.hold_amount),
    'slices', c.slices)
$$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_admit: the whole Postgres-side admission in one call (probe, plan and hold), used
-- when Redis is unavailable.
-- Inputs:  org, call id, rate per minute, CALL_MIN_BALANCE, safety margin (s), hold grace (s),
--          Vapi's duration bounds (s), policy, CALL_HOLD_SECONDS.
-- Output:  {outcome: existing, hold_amount, max_duration_seconds, hold_state}
--          | {outcome: available, available}        (refused: not enough for any hold)
--          | {outcome: held, hold_amount, max_duration_seconds, available, hold: <call_hold_json>}
--          | {outcome: not_found}
-- Effects: at most one calls row per call id, planned and inserted under the wallet row lock.
-- ---------------------------------------------------------------------------------------------
create function call_gate_admit(
  p_org_id uuid, p_call_id text, p_rate_per_minute bigint, p_min_balance bigint,
  p_safety_margin_seconds integer, p_hold_grace_seconds integer,
  p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer
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
  v_plan := call_gate_plan_hold(v_available, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
    p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds);
  if v_plan is null then
    return jsonb_build_object('outcome', 'available', 'available', v_available);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                     hold_policy, hold_cap, held_seconds)
  values (p_call_id, p_org_id, v_plan[1], v_plan[2],
          now() + make_interval(secs => v_plan[2] + p_hold_grace_seconds), 'database_fallback',
          p_policy, v_plan[3], v_plan[4])
  returning * into c;
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[1],
    'max_duration_seconds', v_plan[2], 'available', v_available - v_plan[1], 'hold', call_hold_json(c));
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_snapshot: what the Redis cache needs to decide for one organisation.
-- Output:  {outcome: found, balance, version, currency, holds: [<call_hold_json>]} | {outcome: not_found}.
-- Effects: none. Used to fill the cache on a miss (wallet version-guarded, holds merged).
-- ---------------------------------------------------------------------------------------------
create or replace function call_gate_snapshot(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'balance', w.balance, 'version', w.version, 'currency', w.currency,
       'holds', coalesce((select jsonb_agg(call_hold_json(c))
                  from calls c
                 where c.org_id = w.org_id and c.hold_state = 'held' and c.hold_expires_at > now()),
                 '[]'::jsonb))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_record_holds: records holds the Redis path decided (no funds check: Redis decided
-- atomically), in one call for a batch, each on its own (failure mode 25: one malformed or
-- orphaned hold is rejected and counted, never fails its neighbours).
-- Inputs:  p_holds jsonb array (or a jsonb string holding one), at most 1000 entries, of
--          {call_id, org_id, amount, max_duration_seconds, expires_at_ms, admitted_at_ms, cap,
--           slices, policy, ended_at_ms?}.
-- Output:  {recorded: n, updated: n, rejected: n, rejected_call_ids: [up to 20]}.
-- Effects: at most one calls row per call id (admitted_path 'cache'); a row already there is
--          brought up to a later slice (Redis renewed it) or to its end, never back; a settled
--          row is left alone.
-- ---------------------------------------------------------------------------------------------
drop function call_gate_record_holds(jsonb);
create function call_gate_record_holds(p_holds jsonb) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  h jsonb;
  v_recorded integer := 0;
  v_updated integer := 0;
  v_rejected integer := 0;
  v_rejected_ids jsonb := '[]'::jsonb;
  v_new boolean;
begin
  -- The RPC adapters pass scalars only: the array arrives as JSON text inside a jsonb string
  -- through PostgREST, or as the array itself through node-postgres.
  if jsonb_typeof(p_holds) = 'string' then
    p_holds := (p_holds #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_holds) is distinct from 'array' or jsonb_array_length(p_holds) > 1000 then
    raise exception 'call_gate_record_holds: expected an array of at most 1000 holds' using errcode = '22023';
  end if;
  for h in select * from jsonb_array_elements(p_holds) loop
    begin
      insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                         hold_policy, admitted_at, hold_cap, held_seconds, slices, ended_at)
      select h->>'call_id', o.id, (h->>'amount')::bigint, (h->>'max_duration_seconds')::integer,
             to_timestamp((h->>'expires_at_ms')::bigint / 1000.0), 'cache',
             coalesce(h->>'policy', 'full'), to_timestamp((h->>'admitted_at_ms')::bigint / 1000.0),
             (h->>'cap')::bigint, (h->>'held_seconds')::integer, coalesce((h->>'slices')::integer, 1),
             to_timestamp((h->>'ended_at_ms')::bigint / 1000.0)
        from organizations o where o.id = (h->>'org_id')::uuid
      on conflict (call_id) do update
         set hold_amount = excluded.hold_amount, slices = excluded.slices,
             held_seconds = coalesce(excluded.held_seconds, calls.held_seconds),
             ended_at = coalesce(calls.ended_at, excluded.ended_at)
       where calls.settled_at is null
         and (excluded.slices > calls.slices or (calls.ended_at is null and excluded.ended_at is not null))
      returning (xmax = 0) into v_new;
      if not found then
        -- An organisation that does not exist, or a row that is already as new: nothing to write.
        if not exists (select 1 from calls where call_id = h->>'call_id') then
          raise exception 'no such organisation' using errcode = '23503';
        end if;
      elsif v_new then
        v_recorded := v_recorded + 1;
      else
        v_updated := v_updated + 1;
      end if;
    exception when others then
      v_rejected := v_rejected + 1;
      if jsonb_array_length(v_rejected_ids) < 20 then
        v_rejected_ids := v_rejected_ids || to_jsonb(left(coalesce(h->>'call_id', '?'), 200));
      end if;
    end;
  end loop;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected,
                            'rejected_call_ids', v_rejected_ids);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_meter_renew: the Postgres side of a renewal (Redis unavailable): grants slice p_slice_no
-- of a live metered call if the wallet covers it. Same outcomes as the Lua call_meter_renew.
-- Output:  {outcome: renewed|already|capped|exhausted, amount, held_seconds} | {outcome: ended|released|missing}
-- ---------------------------------------------------------------------------------------------
create function call_meter_renew(p_call_id text, p_slice_no integer, p_slice_amount bigint, p_rate_per_minute bigint)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  v_balance bigint;
  v_inc bigint;
  v_available bigint;
begin
  if p_rate_per_minute <= 0 or p_slice_amount < 0 or p_slice_no < 2 then
    raise exception 'call_meter_renew: bad arguments' using errcode = '22023';
  end if;
  select org_id into c.org_id from calls where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'missing');
  end if;
  select balance into v_balance from wallets where org_id = c.org_id for update;
  select * into c from calls where call_id = p_call_id for update;
  if c.hold_state <> 'held' or c.settled_at is not null then
    return jsonb_build_object('outcome', 'released');
  end if;
  if c.ended_at is not null then
    return jsonb_build_object('outcome', 'ended');
  end if;
  if c.slices >= p_slice_no then
    return jsonb_build_object('outcome', 'already', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if c.hold_amount >= coalesce(c.hold_cap, c.hold_amount) then
    return jsonb_build_object('outcome', 'capped', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  v_inc := least(p_slice_amount, c.hold_cap - c.hold_amount);
  v_available := v_balance - call_holds_sum(c.org_id, now());
  if v_available < v_inc then
    return jsonb_build_object('outcome', 'exhausted', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  update calls
     set hold_amount = hold_amount + v_inc, slices = p_slice_no,
         held_seconds = least(max_duration_seconds, ((hold_amount + v_inc) * 60) / p_rate_per_minute)
   where call_id = p_call_id
  returning * into c;
  return jsonb_build_object('outcome', 'renewed', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_hold_end: the call's status-update "ended" in Postgres: the hold becomes the cost of the
-- time from admission, bounded by (max duration + grace), at least 1 — it counts until the
-- charge replaces it (call_settle). When Postgres has no row yet (the batched record is still on
-- its way, or failed), p_hold (Redis's view of the call, as call_gate_record_holds takes it)
-- creates it, ended, so the sweeper can find it.
-- Output:  {outcome: ended | already | settled, org_id, amount} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
create function call_hold_end(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_hold jsonb)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  v_ms bigint;
begin
  if jsonb_typeof(p_hold) = 'string' then
    p_hold := (p_hold #>> '{}')::jsonb;  -- as call_gate_record_holds: PostgREST passes JSON text
  end if;
  -- The wallet row first, as every money function locks it (then the call's row): the
  -- organisation is the call's, else the one Redis's view names.
  perform 1 from wallets
   where org_id::text = coalesce((select org_id::text from calls where call_id = p_call_id), p_hold->>'org_id')
     for no key update;
  select * into c from calls where call_id = p_call_id for update;
  if not found and p_hold is not null and jsonb_typeof(p_hold) = 'object' then
    perform call_gate_record_holds(jsonb_build_array(p_hold));
    select * into c from calls where call_id = p_call_id for update;
  end if;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if c.settled_at is not null then
    return jsonb_build_object('outcome', 'settled', 'org_id', c.org_id, 'amount', 0);
  end if;
  if c.ended_at is not null then
    return jsonb_build_object('outcome', 'already', 'org_id', c.org_id, 'amount', c.hold_amount);
  end if;
  v_ms := least(greatest(0, (extract(epoch from (now() - c.admitted_at)) * 1000)::bigint),
                (c.max_duration_seconds + p_grace_seconds)::bigint * 1000);
  update calls
     set ended_at = coalesce(ended_at, now()),
         hold_amount = greatest(1, (v_ms * p_rate_per_minute + 59999) / 60000)
   where call_id = p_call_id
  returning * into c;
  return jsonb_build_object('outcome', 'ended', 'org_id', c.org_id, 'amount', c.hold_amount);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_cancel_hold: takes back the hold of a call the gate refused after this store had
-- already placed it (failure mode 24: an answer that came after the gate gave up on it).
-- Output:  {outcome: cancelled | kept | not_found}. Only an unrenewed, unended, unreported call's
--          row is removed: anything else is a real call.
-- ---------------------------------------------------------------------------------------------
create function call_gate_cancel_hold(p_call_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  delete from calls c
   where c.call_id = p_call_id and c.slices = 1 and c.ended_at is null and c.settled_at is null
     and c.control_url is null
     and not exists (select 1 from call_reports r where r.call_id = c.call_id);
  if found then
    return jsonb_build_object('outcome', 'cancelled');
  end if;
  return jsonb_build_object('outcome',
    case when exists (select 1 from calls where call_id = p_call_id) then 'kept' else 'not_found' end);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_control_url_set: remembers a call's Vapi control URL (a secret: never logged, never
-- returned to dashboards). Output: {outcome: stored | not_found}.
-- ---------------------------------------------------------------------------------------------
create function call_control_url_set(p_call_id text, p_url text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  update calls set control_url = p_url where call_id = p_call_id and control_url is distinct from p_url;
  return jsonb_build_object('outcome',
    case when exists (select 1 from calls where call_id = p_call_id) then 'stored' else 'not_found' end);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_meter_get: what a renewal or hang-up job needs to know of one call.
-- Output:  {outcome: found, org_id, live (not ended, not settled), hold: <call_hold_json>,
--          held_seconds, control_url} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
create function call_meter_get(p_call_id text) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', c.org_id,
       'live', c.ended_at is null and c.settled_at is null and c.hold_state = 'held',
       'hold', call_hold_json(c), 'held_seconds', c.held_seconds, 'control_url', c.control_url)
       from calls c where c.call_id = p_call_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- calls_open_meters: live metered calls after a call id (keyset paging), for the sweeper to
-- re-create renewal jobs Redis lost and to copy holds back into an emptied Redis.
-- Output:  {calls: [{org_id, hold: <call_hold_json>, held_seconds}]}
-- ---------------------------------------------------------------------------------------------
create function calls_open_meters(p_after_call_id text, p_limit integer) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('calls', coalesce(jsonb_agg(x.j order by x.call_id), '[]'::jsonb))
    from (select c.call_id, jsonb_build_object('org_id', c.org_id, 'hold', call_hold_json(c),
                   'held_seconds', c.held_seconds) as j
            from calls c
           where c.settled_at is null and c.hold_state = 'held' and c.hold_expires_at > now()
             and (p_after_call_id is null or c.call_id > p_after_call_id)
           order by c.call_id
           limit least(greatest(p_limit, 1), 1000)) x
$$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20), as in the first migration.
-- ---------------------------------------------------------------------------------------------
revoke execute on function
  call_gate_plan_hold(bigint, bigint, bigint, integer, integer, integer, text, integer),
  call_hold_json(calls)
from public, anon, authenticated, service_role;
revoke execute on function
  call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer, text, integer),
  call_gate_record_holds(jsonb),
  call_meter_renew(text, integer, bigint, bigint),
  call_hold_end(text, bigint, integer, jsonb),
  call_gate_cancel_hold(text),
  call_control_url_set(text, text),
  call_meter_get(text),
  calls_open_meters(text, integer)
from public, anon, authenticated;
grant execute on function
  call_gate_admit(uuid, text, bigint, bigint, integer, integer, integer, integer, text, integer),
  call_gate_record_holds(jsonb),
  call_meter_renew(text, integer, bigint, bigint),
  call_hold_end(text, bigint, integer, jsonb),
  call_gate_cancel_hold(text),
  call_control_url_set(text, text),
  call_meter_get(text),
  calls_open_meters(text, integer)
to service_role;
