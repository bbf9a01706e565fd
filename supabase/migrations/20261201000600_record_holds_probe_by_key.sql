-- call_gate_record_holds and call_holds_upsert (as in 20261201000500_record_holds_in_one_statement.sql)
-- with two changes to how their statements read `calls` and `organizations`, found with
-- auto_explain during benchmark a (issue 15; batches of ≈ 60 holds every 20 ms):
--
-- 1. The count of rejected holds (holds that left no row) looked up every hold of the batch in
--    `calls` with a NOT EXISTS. plpgsql caches that plan per connection; made while `calls` held
--    a few hundred rows it was a hash anti-join over a sequential scan of `calls`, and it stayed so
--    while the table grew: every batch then read and hashed every call ever recorded (10 ms of a
--    15 ms batch after 40 s of bench load; `perf`: MultiExecHash, a third of Postgres's CPU on the
--    cache path). Written as one probe per hold, a plan cached early is a sequential scan per hold
--    instead, which is worse. Now call_holds_upsert itself names the holds it rejects: those it
--    skipped for want of an organisation whose call has no row either (a replay has nothing new to
--    write). Only skipped holds, usually none, are looked up, so a clean batch reads `calls` only
--    through the insert's own unique index; both ways of writing a batch take the rejections from
--    its answer.
-- 2. In call_holds_upsert the organisation probe ran twice per hold (the subquery was pulled up
--    into both the select list and the filter); a materialised CTE runs it once.
--
-- Results are unchanged (test/calls/record-holds-batch.test.ts compares both ways of writing a
-- batch; test/calls/record-holds-plan.test.ts proves the reads stay per hold).

create or replace function call_holds_upsert(p_holds jsonb) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  v_recorded integer;
  v_updated integer;
  v_rejected jsonb;
begin
  -- A scalar subquery per hold (one primary-key probe each): as a join the planner may read
  -- every organisation instead (20261201000200). Materialised, so the probe runs once per hold
  -- (pulled up, it ran for `org` and again for the filter) and the rejected holds can be named.
  with src as materialized (
    select x.el, x.i, (select o.id from organizations o where o.id = call_gate_org_key(x.el->>'org_id')) as org
      from jsonb_array_elements(p_holds) with ordinality x(el, i)
  ), written as (
    insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                       hold_policy, admitted_at, hold_cap, held_seconds, slices, ended_at)
    select el->>'call_id', org, (el->>'amount')::bigint, (el->>'max_duration_seconds')::integer,
           to_timestamp((el->>'expires_at_ms')::bigint / 1000.0), 'cache',
           coalesce(el->>'policy', 'full'), to_timestamp((el->>'admitted_at_ms')::bigint / 1000.0),
           (el->>'cap')::bigint, (el->>'held_seconds')::integer, coalesce((el->>'slices')::integer, 1),
           to_timestamp((el->>'ended_at_ms')::bigint / 1000.0)
      from src
     where org is not null
     order by i
    on conflict (call_id) do update
       set hold_amount = excluded.hold_amount, slices = excluded.slices,
           held_seconds = coalesce(excluded.held_seconds, calls.held_seconds),
           ended_at = coalesce(calls.ended_at, excluded.ended_at)
     where calls.settled_at is null
       and (excluded.slices > calls.slices or (calls.ended_at is null and excluded.ended_at is not null))
    returning (xmax = 0) as is_new)
  select (select count(*) filter (where is_new) from written), (select count(*) filter (where not is_new) from written),
         -- Rejected: no organisation, and no row to leave as it is (the statement's snapshot: no
         -- hold written here shares its call id, the caller sees to that).
         (select coalesce(jsonb_agg(el->'call_id' order by i), '[]'::jsonb) from src
           where org is null and not exists (select 1 from calls c where c.call_id = src.el->>'call_id'))
    into v_recorded, v_updated, v_rejected;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected);
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
      v_rejected := jsonb_array_length(w->'rejected');
      select coalesce(jsonb_agg(to_jsonb(left(coalesce(id, '?'), 200)) order by i), '[]'::jsonb) into v_rejected_ids
        from jsonb_array_elements_text(w->'rejected') with ordinality s(id, i) where i <= 20;
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
        if jsonb_array_length(w->'rejected') > 0 then
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

