-- A running total of each organisation's holds, so that call_holds_sum — what every admission,
-- renewal and money check subtracts from the balance — costs the same with 3 live calls or 3,000.
--
-- Why (issue 15, benchmark b): call_holds_sum read every open hold of the organisation, heap row
-- by heap row (and the dead versions of holds released since the last vacuum): ≈ 60 µs at 135
-- open holds, the largest single part of a Postgres-path admission. Redis keeps the same total
-- (`…:sum`); this is Postgres's. pgbench, batches of 30 admissions over 135 live holds per
-- organisation: 4.6 → 3.2 ms.
--
-- The total counts every row in state 'held'; a hold past its hold_expires_at that nobody has
-- released yet (the sweeper releases them) still counts there, so call_holds_sum subtracts those,
-- read from an index that holds only them in range (org, expiry): normally none.
--
--   call_holds_sum(org, now) = call_hold_totals.held − Σ hold_amount of held rows expired by now
--
-- Kept by statement triggers on calls (insert, update, delete: every way a row enters, changes or
-- leaves 'held'), from the transition tables, so no function can forget it; one UPDATE per
-- organisation per statement, in org order. Every wallet has its row (created with the wallet;
-- backfilled here), so a missing one is a bug and raises. CHECK (held >= 0): a total that would go
-- negative (a hold released twice) raises instead of hiding.
--
-- Lock order: a total is locked by the trigger after its statement's rows, so it is always the
-- last lock of its organisation. Every function that changes holds locks the wallet first; the
-- three that changed one call's row without it (call_gate_cancel_hold, call_hold_release,
-- call_settle_not_found) now lock it too. Otherwise a hold batch written one hold at a time
-- (holding the wallet and, after its first hold, the total) could wait for a call row those hold,
-- while they wait for the total: a deadlock.
-- test/calls/hold-totals.test.ts proves the total equal to the sum over the rows after generated
-- sequences of every hold function, and under concurrency.

create table call_hold_totals (
  org_id uuid primary key references wallets (org_id),
  held   bigint not null default 0 check (held >= 0)
);
alter table call_hold_totals enable row level security;
revoke all on call_hold_totals from public, anon, authenticated, service_role;

insert into call_hold_totals (org_id, held)
select w.org_id, coalesce((select sum(c.hold_amount) from calls c where c.org_id = w.org_id and c.hold_state = 'held'), 0)
  from wallets w;

-- Held rows by organisation and expiry: the expired part of call_holds_sum is a range read, and
-- every query that read calls_open_by_org (org_id, held) reads this one.
create index calls_held_by_org_expiry on calls (org_id, hold_expires_at) include (hold_amount) where hold_state = 'held';
drop index calls_open_by_org;

create function call_hold_totals_for_wallet() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into call_hold_totals (org_id) values (new.org_id);
  return null;
end $$;
create trigger wallets_hold_total after insert on wallets
  for each row execute function call_hold_totals_for_wallet();

-- Moves each organisation's total by its delta (org order; zero deltas skipped).
create function call_hold_totals_move(p_orgs uuid[], p_deltas bigint[]) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r record;
begin
  for r in select o, d from unnest(p_orgs, p_deltas) as u(o, d) where d <> 0 order by o loop
    update call_hold_totals set held = held + r.d where org_id = r.o;
    if not found then
      raise exception 'call_hold_totals: no total for organisation %', r.o using errcode = 'P0002';
    end if;
  end loop;
end $$;

create function call_hold_totals_after_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform call_hold_totals_move(array_agg(org_id), array_agg(held))
     from (select org_id, sum(hold_amount)::bigint as held from new_rows where hold_state = 'held' group by org_id) s;
  return null;
end $$;

create function call_hold_totals_after_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform call_hold_totals_move(array_agg(org_id), array_agg(delta))
     from (select org_id, sum(delta)::bigint as delta
             from (select org_id, hold_amount as delta from new_rows where hold_state = 'held'
                   union all
                   select org_id, -hold_amount from old_rows where hold_state = 'held') d
            group by org_id) s;
  return null;
end $$;

create function call_hold_totals_after_delete() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform call_hold_totals_move(array_agg(org_id), array_agg(-held))
     from (select org_id, sum(hold_amount)::bigint as held from old_rows where hold_state = 'held' group by org_id) s;
  return null;
end $$;

create trigger calls_hold_totals_insert after insert on calls
  referencing new table as new_rows for each statement execute function call_hold_totals_after_insert();
create trigger calls_hold_totals_update after update on calls
  referencing old table as old_rows new table as new_rows for each statement execute function call_hold_totals_after_update();
create trigger calls_hold_totals_delete after delete on calls
  referencing old table as old_rows for each statement execute function call_hold_totals_after_delete();

create or replace function call_holds_sum(p_org_id uuid, p_now timestamptz) returns bigint
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  return coalesce((select held from call_hold_totals where org_id = p_org_id), 0)
       - (select coalesce(sum(hold_amount), 0)::bigint from calls
           where org_id = p_org_id and hold_state = 'held' and hold_expires_at <= p_now);
end $$;

-- The three single-call hold changes, as before, with the wallet locked first (see above).
create or replace function call_gate_cancel_hold(p_call_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform 1 from wallets where org_id = (select org_id from calls where call_id = p_call_id) for no key update;
  delete from calls c
   where c.call_id = p_call_id and c.slices = 1 and c.ended_at is null and c.settled_at is null
     and not exists (select 1 from call_controls cc where cc.call_id = c.call_id)
     and not exists (select 1 from call_reports r where r.call_id = c.call_id);
  if found then
    return jsonb_build_object('outcome', 'cancelled');
  end if;
  return jsonb_build_object('outcome',
    case when exists (select 1 from calls where call_id = p_call_id) then 'kept' else 'not_found' end);
end $$;

create or replace function call_hold_release(p_call_id text, p_cause text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare c calls%rowtype;
begin
  perform 1 from wallets where org_id = (select org_id from calls where call_id = p_call_id) for no key update;
  update calls set hold_state = 'released', released_at = now(), release_cause = left(p_cause, 100)
   where call_id = p_call_id and hold_state = 'held'
  returning * into c;
  if found then
    return jsonb_build_object('outcome', 'released', 'org_id', c.org_id);
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'already_released', 'org_id', c.org_id);
  end if;
  return jsonb_build_object('outcome', 'not_found');
end $$;

create or replace function call_settle_not_found(p_call_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform 1 from wallets where org_id = (select org_id from calls where call_id = p_call_id) for no key update;
  update calls set settled_by = 'not_found', settled_at = now(), hold_state = 'released',
                   released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'vapi_not_found')
   where call_id = p_call_id and settled_at is null;
  return jsonb_build_object('outcome', case when found then 'settled' else 'unchanged' end);
end $$;

revoke execute on function call_hold_totals_move(uuid[], bigint[]) from public, anon, authenticated, service_role;
revoke execute on function call_hold_totals_for_wallet() from public, anon, authenticated, service_role;
revoke execute on function call_hold_totals_after_insert() from public, anon, authenticated, service_role;
revoke execute on function call_hold_totals_after_update() from public, anon, authenticated, service_role;
revoke execute on function call_hold_totals_after_delete() from public, anon, authenticated, service_role;
