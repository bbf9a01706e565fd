-- call_holds_upsert(jsonb)
--
-- (from 20261206203711_settled_holds_released)
-- A hold's record can reach Postgres after the call's report was billed: the gate's batch waits up
-- to 20 ms and a report can be quicker, a failed batch is written again by a renewal, and an
-- "ended" writes Redis's view when Postgres has no row. call_settle found no row to settle then,
-- and the record inserted a live hold for a call already charged: it counted in `available` (and
-- an "ended" sized it to a pence or two) until it expired, hours later. A call whose report is
-- billed is now inserted settled, as call_settle would have left it (released, settled_at and
-- charge_entry_id from the report, settled_by from the report's source), with hot_released_at
-- null so that the call sweeper confirms its Redis copy is released too. One more primary-key
-- probe per hold (call_reports), as for the organisation.
--
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
--
-- (from 20261201000500_record_holds_in_one_statement)
-- The same results either way, hold for hold: call_holds_upsert writes the whole batch or raises
-- (a cast, a CHECK); when it raises, or when a call id appears twice in the batch, the batch is
-- written one hold at a time through the same statement, each in its own subtransaction, as
-- before, so a bad hold is rejected alone. A hold whose organisation does not exist writes nothing
-- and is rejected unless its call already has a row (a replay: nothing new to write). One change:
-- an org id that is not a uuid is now treated exactly so too (before, its cast raised, so it was
-- rejected even when its call had a row). test/calls/record-holds-batch.test.ts compares the two
-- ways on generated batches; test/money-in/alerts.test.ts fails if the watch is skipped.
--
-- Defined in 20261201000500_record_holds_in_one_statement, 20261201000600_record_holds_probe_by_key, 20261206203711_settled_holds_released (the last is current).
--
-- Called by: call_gate_record_holds().
--
-- (from 20261207001100_call_rates_functions)
-- Writes the rate fixed at the call's admission (a hold's rate_per_minute, connect_fee,
-- minimum_seconds, increment_seconds, rate_prefix; absent: null, the default rate).
CREATE OR REPLACE FUNCTION public.call_holds_upsert(p_holds jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_recorded integer;
  v_updated integer;
  v_rejected jsonb;
begin
  -- A scalar subquery per hold (one primary-key probe each): as a join the planner may read
  -- every organisation instead (20261201000200). Materialised, so the probe runs once per hold
  -- (pulled up, it ran for `org` and again for the filter) and the rejected holds can be named.
  -- The call's billed report, if any (one primary-key probe per hold): a hold recorded after its
  -- call was charged is written settled, never as a live hold of a call already paid for.
  with src as materialized (
    select x.el, x.i, (select o.id from organizations o where o.id = call_gate_org_key(x.el->>'org_id')) as org,
           (select r from call_reports r where r.call_id = x.el->>'call_id' and r.billed_at is not null) as billed
      from jsonb_array_elements(p_holds) with ordinality x(el, i)
  ), written as (
    insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                       hold_policy, admitted_at, hold_cap, held_seconds, slices, ended_at,
                       hold_state, released_at, release_cause, settled_at, settled_by, charge_entry_id,
                       rate_prefix, rate_per_minute, connect_fee, minimum_seconds, increment_seconds)
    select el->>'call_id', org, (el->>'amount')::bigint, (el->>'max_duration_seconds')::integer,
           to_timestamp((el->>'expires_at_ms')::bigint / 1000.0), 'cache',
           coalesce(el->>'policy', 'full'), to_timestamp((el->>'admitted_at_ms')::bigint / 1000.0),
           (el->>'cap')::bigint, (el->>'held_seconds')::integer, coalesce((el->>'slices')::integer, 1),
           to_timestamp((el->>'ended_at_ms')::bigint / 1000.0),
           case when billed is null then 'held' else 'released' end,
           (billed).billed_at, case when billed is null then null else 'billed' end, (billed).billed_at,
           case when billed is null then null when (billed).source = 'vapi_api' then 'sweeper' else 'report' end,
           (billed).charge_entry_id,
           el->>'rate_prefix', (el->>'rate_per_minute')::bigint, (el->>'connect_fee')::bigint,
           (el->>'minimum_seconds')::integer, (el->>'increment_seconds')::integer
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
end $function$;
