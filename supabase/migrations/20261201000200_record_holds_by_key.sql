-- call_gate_record_holds (as in 20261130001600_holds_watch_money.sql) and call_hold_end (as in
-- 20261130000300_metered_holds.sql), with their lookups by organisation id made index lookups.
-- Both compared `org_id::text` with an id from their JSON input, so that a malformed id could not
-- fail the whole call; but a cast column cannot use the primary key, so every hold batch (one per
-- 5 ms under load, issue 15) read every wallet and every organisation, and every call's "ended"
-- every wallet: O(organisations) each, found while profiling the cache path's Postgres time.
-- call_gate_org_key (20261201000100) gives a malformed id null (it still fails only its own hold,
-- in the loop below) and a well-formed one its uuid; `= any (array(…))` is one index probe per id
-- (an IN over the function's rows let the planner join against a whole scan). Nothing else changes.

create or replace function call_gate_record_holds(p_holds jsonb) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  h jsonb;
  v_recorded integer := 0;
  v_updated integer := 0;
  v_rejected integer := 0;
  v_rejected_ids jsonb := '[]'::jsonb;
  v_new boolean;
  v_org uuid;
begin
  -- The RPC adapters pass scalars only: the array arrives as JSON text inside a jsonb string
  -- through PostgREST, or as the array itself through node-postgres.
  if jsonb_typeof(p_holds) = 'string' then
    p_holds := (p_holds #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_holds) is distinct from 'array' or jsonb_array_length(p_holds) > 1000 then
    raise exception 'call_gate_record_holds: expected an array of at most 1000 holds' using errcode = '22023';
  end if;
  -- Every money function locks the wallet row first, then the rows that depend on it (calls, the
  -- money settings). The batch does the same, for its organisations in one fixed order, before it
  -- writes a hold: the watch below touches the settings and, through foreign keys, the wallet,
  -- and without this a batch and a charge of one organisation deadlock. Compared as text: a
  -- malformed org id must only fail its own hold, below: call_gate_org_key gives it null (no
  -- wallet), and any well-formed one its uuid, so the lookup uses the primary key.
  perform 1 from wallets
   where org_id = any (array(select call_gate_org_key(x->>'org_id') from jsonb_array_elements(p_holds) x))
   order by org_id
     for no key update;
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
  -- Money in: these holds lowered `available`, which alerts and auto-recharge watch (in a fixed
  -- order of organisations, so two batches never wait on each other's settings rows).
  for v_org in select o.id from organizations o
                where o.id = any (array(select call_gate_org_key(x->>'org_id') from jsonb_array_elements(p_holds) x))
                order by 1 loop
    perform wallet_money_watch(v_org);
  end loop;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected,
                            'rejected_call_ids', v_rejected_ids);
end $$;

create or replace function call_hold_end(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_hold jsonb)
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
   where org_id = coalesce((select org_id from calls where call_id = p_call_id), call_gate_org_key(p_hold->>'org_id'))
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
