-- call_gate_record_holds (as in 20261201000200_record_holds_by_key.sql) with two changes, both
-- found profiling the cache path's durable write (issue 15, benchmark a; one batch every 20 ms
-- under load, hold-recorder.ts):
--
-- 1. A batch is written in one INSERT … ON CONFLICT instead of one per hold. Written a hold at a
--    time, each INSERT built a new executor and with it the calls table's CHECK constraints, read
--    back from their stored node trees (`perf`: ExecConstraints and stringToNode, 30% of
--    Postgres's CPU during bench a). In one statement that happens once per batch: pgbench, 45
--    holds over 45 organisations, 2.74 → 1.75 ms per batch.
-- 2. The money watch runs only for the organisations that have money settings (alerts or
--    auto-recharge). wallet_money_watch returns at once without a wallet_money_settings row, but
--    each call still cost a function call and a locking SELECT: 12% of a batch (3.19 → 2.79 ms).
--    Same organisations watched, same order. The batch's org keys are computed once, for the
--    wallet locks and the watch.
--
-- The same results either way, hold for hold: call_holds_upsert writes the whole batch or raises
-- (a cast, a CHECK); when it raises, or when a call id appears twice in the batch, the batch is
-- written one hold at a time through the same statement, each in its own subtransaction, as
-- before, so a bad hold is rejected alone. A hold whose organisation does not exist writes nothing
-- and is rejected unless its call already has a row (a replay: nothing new to write). One change:
-- an org id that is not a uuid is now treated exactly so too (before, its cast raised, so it was
-- rejected even when its call had a row). test/calls/record-holds-batch.test.ts compares the two
-- ways on generated batches; test/money-in/alerts.test.ts fails if the watch is skipped.

-- Writes p_holds (as call_gate_record_holds takes them; an array) in one statement: a new call id
-- is inserted, an unsettled row is advanced (more slices, or its end), anything else is left as
-- it is. A hold whose organisation does not exist is skipped (the caller sees no row). Returns
-- {recorded, updated}: how many rows were inserted and updated; raises if any hold cannot be
-- written. Internal.
create function call_holds_upsert(p_holds jsonb) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  v_recorded integer;
  v_updated integer;
begin
  with written as (
    insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                       hold_policy, admitted_at, hold_cap, held_seconds, slices, ended_at)
    select el->>'call_id', org, (el->>'amount')::bigint, (el->>'max_duration_seconds')::integer,
           to_timestamp((el->>'expires_at_ms')::bigint / 1000.0), 'cache',
           coalesce(el->>'policy', 'full'), to_timestamp((el->>'admitted_at_ms')::bigint / 1000.0),
           (el->>'cap')::bigint, (el->>'held_seconds')::integer, coalesce((el->>'slices')::integer, 1),
           to_timestamp((el->>'ended_at_ms')::bigint / 1000.0)
      -- A scalar subquery per hold (one primary-key probe each): as a join the planner may read
      -- every organisation instead (20261201000200).
      from (select x.el, x.i, (select o.id from organizations o where o.id = call_gate_org_key(x.el->>'org_id')) as org
              from jsonb_array_elements(p_holds) with ordinality x(el, i)) s
     where org is not null
     order by i
    on conflict (call_id) do update
       set hold_amount = excluded.hold_amount, slices = excluded.slices,
           held_seconds = coalesce(excluded.held_seconds, calls.held_seconds),
           ended_at = coalesce(calls.ended_at, excluded.ended_at)
     where calls.settled_at is null
       and (excluded.slices > calls.slices or (calls.ended_at is null and excluded.ended_at is not null))
    returning (xmax = 0) as is_new)
  select count(*) filter (where is_new), count(*) filter (where not is_new) into v_recorded, v_updated from written;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated);
end $$;

create or replace function call_gate_record_holds(p_holds jsonb) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  h jsonb;
  w jsonb;
  v_recorded integer := 0;
  v_updated integer := 0;
  v_rejected integer := 0;
  v_rejected_ids jsonb := '[]'::jsonb;
  v_org uuid;
  v_orgs uuid[];
  v_written boolean := false;
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
  -- and without this a batch and a charge of one organisation deadlock. A malformed org id must
  -- only fail its own hold: call_gate_org_key gives it null (no wallet), and any well-formed one
  -- its uuid, so the lookup uses the primary key.
  v_orgs := array(select distinct call_gate_org_key(x->>'org_id') from jsonb_array_elements(p_holds) x);
  perform 1 from wallets where org_id = any (v_orgs) order by org_id for no key update;
  -- One statement for the batch when every hold has its own call id (a repeated one is written
  -- in order, one at a time, as before), and nothing in it raises.
  if (select count(*) = count(distinct x->>'call_id') from jsonb_array_elements(p_holds) x) then
    begin
      w := call_holds_upsert(p_holds);
      v_recorded := (w->>'recorded')::integer;
      v_updated := (w->>'updated')::integer;
      -- A hold that left no row named no organisation (its call id is its own in this batch).
      select count(*), coalesce(jsonb_agg(to_jsonb(left(coalesce(el->>'call_id', '?'), 200)) order by i) filter (where n <= 20), '[]'::jsonb)
        into v_rejected, v_rejected_ids
        from (select x.el, x.i, row_number() over (order by x.i) as n
                from jsonb_array_elements(p_holds) with ordinality x(el, i)
               where not exists (select 1 from calls c where c.call_id = x.el->>'call_id')) r;
      v_written := true;
    exception when others then
      -- Some hold cannot be written, so nothing of the batch was (v_written stays false).
      null;
    end;
  end if;
  if not v_written then
    -- The rollback above does not reset variables the statement had already assigned.
    v_recorded := 0;
    v_updated := 0;
    for h in select * from jsonb_array_elements(p_holds) loop
      begin
        w := call_holds_upsert(jsonb_build_array(h));
        if (w->>'recorded')::integer + (w->>'updated')::integer = 0 and not exists (select 1 from calls where call_id = h->>'call_id') then
          raise exception 'no such organisation' using errcode = '23503';
        end if;
        v_recorded := v_recorded + (w->>'recorded')::integer;
        v_updated := v_updated + (w->>'updated')::integer;
      exception when others then
        v_rejected := v_rejected + 1;
        if jsonb_array_length(v_rejected_ids) < 20 then
          v_rejected_ids := v_rejected_ids || to_jsonb(left(coalesce(h->>'call_id', '?'), 200));
        end if;
      end;
    end loop;
  end if;
  -- Money in: these holds lowered `available`, which alerts and auto-recharge watch (in a fixed
  -- order of organisations, so two batches never wait on each other's settings rows). Only the
  -- organisations with settings: for any other the watch has nothing to do.
  for v_org in select s.org_id from wallet_money_settings s where s.org_id = any (v_orgs) order by 1 loop
    perform wallet_money_watch(v_org);
  end loop;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected,
                            'rejected_call_ids', v_rejected_ids);
end $$;

revoke execute on function call_holds_upsert(jsonb) from public, anon, authenticated, service_role;
