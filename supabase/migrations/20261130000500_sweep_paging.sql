-- Sweeper paging (failure mode 29, docs/call-gate.md): the call sweeper used to take the oldest
-- CALL_SWEEP_BATCH_SIZE rows and skip the ones it could not finish; those stayed the oldest, so a
-- batch of calls still live at Vapi (or erroring) hid every lost report behind them. Now each work
-- list is read page by page with a keyset cursor, and a call the sweeper could not finish is
-- deferred (calls.next_sweep_at, added by 20261130000200_metered_calls.sql) with a backoff the
-- sweeper computes from how many times it has been deferred.

alter table calls
  -- How many times the sweeper has deferred this call: the exponent of its backoff.
  add column sweep_deferrals integer not null default 0 check (sweep_deferrals >= 0);

-- The keyset orders of the two work lists; call_id / report call_id break ties between rows with
-- the same time so that a page boundary never skips or repeats a row.
create index calls_sweep_order on calls (hold_expires_at, call_id) where settled_at is null;
drop index if exists calls_unsettled;
create index call_reports_sweep_order on call_reports (received_at, call_id) where billed_at is null;
drop index if exists call_reports_unbilled;

drop function calls_due_for_sweep(timestamptz, integer, integer);

-- ---------------------------------------------------------------------------------------------
-- calls_due_for_sweep: one page of the calls the sweeper should settle from Vapi at p_now.
-- Inputs:  now, grace (seconds a report may lag behind the end of its call), page size (1..1000),
--          the cursor: hold_expires_at and call_id of the last row of the previous page (both
--          null for the first page; the exact text this function returned, not a rounded time).
-- Output:  {missing: [{call_id, org_id, hold_expires_at, sweep_deferrals}]} ordered by
--          (hold_expires_at, call_id): admitted calls with no report whose hold expired, or which
--          ended more than the grace ago (their report is considered lost, failure mode 19),
--          leaving out calls deferred past p_now (call_sweep_defer). A page shorter than the page
--          size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
create function calls_due_for_sweep(
  p_now timestamptz, p_grace_seconds integer, p_limit integer,
  p_after_expires_at timestamptz, p_after_call_id text
) returns jsonb
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if (p_after_expires_at is null) <> (p_after_call_id is null) then
    raise exception 'calls_due_for_sweep: the cursor needs both hold_expires_at and call_id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'missing', coalesce((select jsonb_agg(jsonb_build_object(
         'call_id', x.call_id, 'org_id', x.org_id, 'hold_expires_at', x.hold_expires_at,
         'sweep_deferrals', x.sweep_deferrals) order by x.hold_expires_at, x.call_id)
       from (select c.call_id, c.org_id, c.hold_expires_at, c.sweep_deferrals from calls c
              where c.settled_at is null
                and (p_after_expires_at is null
                     or (c.hold_expires_at, c.call_id) > (p_after_expires_at, p_after_call_id))
                and (c.next_sweep_at is null or c.next_sweep_at <= p_now)
                and not exists (select 1 from call_reports r where r.call_id = c.call_id)
                and (c.hold_expires_at <= p_now
                     or coalesce(c.ended_at, c.released_at) <= p_now - make_interval(secs => p_grace_seconds))
              order by c.hold_expires_at, c.call_id
              limit least(greatest(p_limit, 1), 1000)) x), '[]'::jsonb));
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_reports_due_for_sweep: one page of the reports whose billing the sweeper should re-drive.
-- Inputs:  now, grace, page size (1..1000), the cursor: received_at and call_id of the last row
--          of the previous page (both null for the first page; the exact text returned).
-- Output:  {unbilled: [{call_id, received_at}]} ordered by (received_at, call_id): reports with
--          an organisation recorded but not billed for more than the grace. A page shorter than
--          the page size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
create function call_reports_due_for_sweep(
  p_now timestamptz, p_grace_seconds integer, p_limit integer,
  p_after_received_at timestamptz, p_after_call_id text
) returns jsonb
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if (p_after_received_at is null) <> (p_after_call_id is null) then
    raise exception 'call_reports_due_for_sweep: the cursor needs both received_at and call_id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'unbilled', coalesce((select jsonb_agg(jsonb_build_object('call_id', y.call_id, 'received_at', y.received_at)
         order by y.received_at, y.call_id)
       from (select r.call_id, r.received_at from call_reports r
              where r.billed_at is null and r.org_id is not null
                and (p_after_received_at is null
                     or (r.received_at, r.call_id) > (p_after_received_at, p_after_call_id))
                and r.received_at <= p_now - make_interval(secs => p_grace_seconds)
              order by r.received_at, r.call_id
              limit least(greatest(p_limit, 1), 1000)) y), '[]'::jsonb));
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_sweep_defer: the sweeper could not finish a call (Vapi still reports it live, or asking
-- or settling failed): calls_due_for_sweep leaves it out until p_until.
-- Inputs:  call id, the time it may be looked at again (the sweeper's backoff, computed in
--          workers/call-sweeper.ts from sweep_deferrals).
-- Output:  {outcome: deferred | unchanged}   (unchanged: no such call, or already settled).
-- Effects: sets next_sweep_at and counts the deferral on an unsettled call.
-- ---------------------------------------------------------------------------------------------
create function call_sweep_defer(p_call_id text, p_until timestamptz) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if p_until is null then
    raise exception 'call_sweep_defer: p_until is required' using errcode = '22023';
  end if;
  update calls set next_sweep_at = p_until, sweep_deferrals = sweep_deferrals + 1
   where call_id = p_call_id and settled_at is null;
  return jsonb_build_object('outcome', case when found then 'deferred' else 'unchanged' end);
end $$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20), as in the first migration.
-- ---------------------------------------------------------------------------------------------
revoke execute on function
  calls_due_for_sweep(timestamptz, integer, integer, timestamptz, text),
  call_reports_due_for_sweep(timestamptz, integer, integer, timestamptz, text),
  call_sweep_defer(text, timestamptz)
from public, anon, authenticated;
grant execute on function
  calls_due_for_sweep(timestamptz, integer, integer, timestamptz, text),
  call_reports_due_for_sweep(timestamptz, integer, integer, timestamptz, text),
  call_sweep_defer(text, timestamptz)
to service_role;
