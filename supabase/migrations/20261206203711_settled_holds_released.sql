-- settled_holds_released: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: call_holds_upsert, call_hot_released, call_settled, calls_due_for_hot_release.

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
                       hold_state, released_at, release_cause, settled_at, settled_by, charge_entry_id)
    select el->>'call_id', org, (el->>'amount')::bigint, (el->>'max_duration_seconds')::integer,
           to_timestamp((el->>'expires_at_ms')::bigint / 1000.0), 'cache',
           coalesce(el->>'policy', 'full'), to_timestamp((el->>'admitted_at_ms')::bigint / 1000.0),
           (el->>'cap')::bigint, (el->>'held_seconds')::integer, coalesce((el->>'slices')::integer, 1),
           to_timestamp((el->>'ended_at_ms')::bigint / 1000.0),
           case when billed is null then 'held' else 'released' end,
           (billed).billed_at, case when billed is null then null else 'billed' end, (billed).billed_at,
           case when billed is null then null when (billed).source = 'vapi_api' then 'sweeper' else 'report' end,
           (billed).charge_entry_id
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

-- call_hot_released(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_hot_released: Redis has been seen with this settled call's entry no longer counting (the
-- release script answered: released now, released before, or no entry). Stamps
-- calls.hot_released_at, which takes the call off the sweeper's list (calls_due_for_hot_release).
-- Output:  {outcome: stamped | unchanged}  (unchanged: not settled, stamped before, or no row)
-- Effects: calls.hot_released_at := now() on a settled row not stamped yet.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206203711_settled_holds_released.
--
-- Called by: shared/calls/call-store.ts (shared/calls/call-billing.ts, after a release).
CREATE OR REPLACE FUNCTION public.call_hot_released(p_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  update calls set hot_released_at = now()
   where call_id = p_call_id and settled_at is not null and hot_released_at is null;
  return jsonb_build_object('outcome', case when found then 'stamped' else 'unchanged' end);
end $function$;

-- call_settled(text)
--
-- ---------------------------------------------------------------------------------------------
-- call_settled: whether the call is settled in Postgres — its row settled (charged from its
-- report, by the sweeper, or as unknown to Vapi), or its report billed (a report can be billed
-- before the call's row is written). Asked by a renewal before it grows a call's Redis hold: a
-- settled call's hold must never grow; its Redis entry is released instead (issue 22, item 1).
-- Output:  {settled: boolean, org_id: uuid | null}
-- Effects: none. Two primary-key probes.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206203711_settled_holds_released.
--
-- Called by: shared/calls/call-store.ts (shared/calls/call-meter.ts, before a renewal).
CREATE OR REPLACE FUNCTION public.call_settled(p_call_id text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'settled', exists (select 1 from calls c where c.call_id = p_call_id and c.settled_at is not null)
            or exists (select 1 from call_reports r where r.call_id = p_call_id and r.billed_at is not null),
    'org_id', coalesce((select c.org_id from calls c where c.call_id = p_call_id),
                       (select r.org_id from call_reports r where r.call_id = p_call_id)))
$function$;

-- calls_due_for_hot_release(timestamp with time zone,integer,timestamp with time zone,text)
--
-- ---------------------------------------------------------------------------------------------
-- calls_due_for_hot_release: one page of the settled calls whose Redis hold may still count
-- (issue 22, item 1): the release after the charge failed, or a repair gave up, and nothing had
-- retried it, so the entry kept counting until it expired (up to 12 h) while the wallet was full.
-- Inputs:  now, page size (1..1000), the cursor: hold_expires_at and call_id of the last row of
--          the previous page (both null for the first page; the exact text this function
--          returned).
-- Output:  {settled: [{call_id, org_id, hold_expires_at}]} ordered by (hold_expires_at, call_id):
--          settled calls not yet confirmed released in Redis (hot_released_at null) whose hold
--          has not expired at p_now. A page shorter than the page size is the last one.
-- Effects: rows of that list whose hold expired at p_now are stamped (hot_released_at := p_now):
--          every hold script purges an expired entry, so nothing of theirs is left in Redis, and
--          the partial index calls_hot_release_due stays the size of the work still to do.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206203711_settled_holds_released.
--
-- Called by: shared/calls/call-store.ts (workers/call-sweeper.ts).
CREATE OR REPLACE FUNCTION public.calls_due_for_hot_release(p_now timestamp with time zone, p_limit integer, p_after_expires_at timestamp with time zone, p_after_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if (p_after_expires_at is null) <> (p_after_call_id is null) then
    raise exception 'calls_due_for_hot_release: the cursor needs both hold_expires_at and call_id, or neither'
      using errcode = '22023';
  end if;
  if p_after_expires_at is null then
    update calls set hot_released_at = p_now
     where settled_at is not null and hot_released_at is null and hold_expires_at <= p_now;
  end if;
  return jsonb_build_object(
    'settled', coalesce((select jsonb_agg(jsonb_build_object(
         'call_id', x.call_id, 'org_id', x.org_id, 'hold_expires_at', x.hold_expires_at)
         order by x.hold_expires_at, x.call_id)
       from (select c.call_id, c.org_id, c.hold_expires_at from calls c
              where c.settled_at is not null and c.hot_released_at is null
                and c.hold_expires_at > p_now
                and (p_after_expires_at is null
                     or (c.hold_expires_at, c.call_id) > (p_after_expires_at, p_after_call_id))
              order by c.hold_expires_at, c.call_id
              limit least(greatest(p_limit, 1), 1000)) x), '[]'::jsonb));
end $function$;

revoke all on function call_hot_released(text) from public, anon, authenticated, service_role;
grant execute on function call_hot_released(text) to service_role;
revoke all on function call_settled(text) from public, anon, authenticated, service_role;
grant execute on function call_settled(text) to service_role;
revoke all on function calls_due_for_hot_release(timestamp with time zone,integer,timestamp with time zone,text) from public, anon, authenticated, service_role;
grant execute on function calls_due_for_hot_release(timestamp with time zone,integer,timestamp with time zone,text) to service_role;
