-- Holds placed or grown on the Redis path lower `available` too (CONTRACT §7: a threshold is
-- crossed "through any charge, purchase or hold"). Money in (20261130001100) watched every ledger
-- movement and the Postgres-path admission; a Redis-path hold reaches Postgres through
-- call_gate_record_holds (the gate's batch, a few milliseconds after the answer, and every renewal's
-- copy), and a Postgres-path renewal through call_meter_renew. Both now run the same watch, so a
-- balance.low alert or an auto-recharge follows a hold within one batch, not at the call's charge.

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
  -- malformed org id must only fail its own hold, below.
  perform 1 from wallets
   where org_id::text in (select x->>'org_id' from jsonb_array_elements(p_holds) x)
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
  for v_org in select distinct o.id from jsonb_array_elements(p_holds) x
                 join organizations o on o.id::text = x->>'org_id' order by 1 loop
    perform wallet_money_watch(v_org);
  end loop;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected,
                            'rejected_call_ids', v_rejected_ids);
end $$;

create or replace function call_meter_renew(p_call_id text, p_slice_no integer, p_slice_amount bigint,
                                 p_rate_per_minute bigint, p_now timestamptz)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  w wallets%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_inc bigint;
  v_held bigint;
  v_available bigint;
  v_lim_cap bigint;
  v_limit text;
begin
  if p_rate_per_minute <= 0 or p_slice_amount < 0 or p_slice_no < 2 then
    raise exception 'call_meter_renew: bad arguments' using errcode = '22023';
  end if;
  select org_id into c.org_id from calls where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'missing');
  end if;
  select * into w from wallets where org_id = c.org_id for update;
  select * into c from calls where call_id = p_call_id for update;
  if not found then
    -- Taken back (call_gate_cancel_hold) while this renewal waited for the wallet.
    return jsonb_build_object('outcome', 'missing');
  end if;
  if c.hold_state <> 'held' or c.settled_at is not null then
    return jsonb_build_object('outcome', 'released');
  end if;
  if c.ended_at is not null then
    return jsonb_build_object('outcome', 'ended');
  end if;
  if c.slices >= p_slice_no then
    return jsonb_build_object('outcome', 'already', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if w.frozen then
    return jsonb_build_object('outcome', 'frozen', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if c.hold_amount >= coalesce(c.hold_cap, c.hold_amount) then
    return jsonb_build_object('outcome', 'capped', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  v_inc := least(p_slice_amount, c.hold_cap - c.hold_amount);
  if w.max_call_seconds is not null then
    v_lim_cap := (w.max_call_seconds::bigint * p_rate_per_minute + 59) / 60;
    if c.hold_amount >= v_lim_cap then
      v_limit := 'maxCallSeconds';
    end if;
    v_inc := least(v_inc, v_lim_cap - c.hold_amount);
  end if;
  if v_limit is null and w.max_concurrent_calls is not null and (
       select count(*) from calls o
        where o.org_id = c.org_id and o.hold_state = 'held' and o.ended_at is null
          and o.settled_at is null and o.hold_expires_at > v_now
          and (o.admitted_at, o.call_id) < (c.admitted_at, c.call_id)) >= w.max_concurrent_calls then
    v_limit := 'maxConcurrentCalls';
  end if;
  if v_limit is not null then
    return jsonb_build_object('outcome', 'limited', 'limit', v_limit, 'amount', c.hold_amount,
                              'held_seconds', c.held_seconds);
  end if;
  v_held := call_holds_sum(c.org_id, v_now);
  v_available := w.balance - v_held;
  if v_available < v_inc then
    return jsonb_build_object('outcome', 'exhausted', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
  end if;
  if w.daily_spend_limit is not null and wallet_spent_on(w, v_now) + v_held + v_inc > w.daily_spend_limit then
    return jsonb_build_object('outcome', 'limited', 'limit', 'dailySpendLimit', 'amount', c.hold_amount,
                              'held_seconds', c.held_seconds);
  end if;
  update calls
     set hold_amount = hold_amount + v_inc, slices = p_slice_no,
         held_seconds = least(max_duration_seconds, ((hold_amount + v_inc) * 60) / p_rate_per_minute)
   where call_id = p_call_id
  returning * into c;
  -- Money in: the grown hold lowers `available`, which alerts and auto-recharge watch.
  perform wallet_money_watch(c.org_id);
  return jsonb_build_object('outcome', 'renewed', 'amount', c.hold_amount, 'held_seconds', c.held_seconds);
end $$;
