-- The helpers every Postgres-path admission calls, rewritten from `language sql` to plpgsql with
-- the same bodies, volatility, owner rights and search_path (grants stay: create or replace).
--
-- Why (issue 15, benchmark b): a `language sql` function that is security definer (or has a SET
-- clause) is never inlined, and each call from plpgsql parses, analyses and plans its body again.
-- `perf` over Postgres during bench b put 31% of its CPU under fmgr_sql (parser, planner,
-- stringToNode), almost all of it call_holds_sum and call_hold_json, called once per admission.
-- plpgsql prepares each statement once per session and reuses the plan. pgbench, batches of 30
-- admissions over 135 live holds per organisation: 6.37 ms → 5.44 (call_holds_sum) → 4.45 ms
-- (call_hold_json). calls_live_count and wallet_spent_on run on the same path when an organisation
-- has maxConcurrentCalls or dailySpendLimit set, so they change too.
-- test/calls/hot-helpers.test.ts keeps them out of `language sql`.

create or replace function call_holds_sum(p_org_id uuid, p_now timestamptz) returns bigint
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  return (select coalesce(sum(hold_amount), 0)::bigint from calls
           where org_id = p_org_id and hold_state = 'held' and hold_expires_at > p_now);
end $$;

create or replace function call_hold_json(c calls) returns jsonb
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  return jsonb_build_object(
    'call_id', c.call_id,
    'state', case when c.ended_at is null then 'held' else 'ended' end,
    'amount', c.hold_amount,
    'max_duration_seconds', c.max_duration_seconds,
    'expires_at_ms', (extract(epoch from c.hold_expires_at) * 1000)::bigint,
    'admitted_at_ms', (extract(epoch from c.admitted_at) * 1000)::bigint,
    'cap', coalesce(c.hold_cap, c.hold_amount),
    'slices', c.slices);
end $$;

create or replace function calls_live_count(p_org_id uuid, p_now timestamptz) returns bigint
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  return (select count(*) from calls
           where org_id = p_org_id and hold_state = 'held' and ended_at is null and settled_at is null
             and hold_expires_at > p_now);
end $$;

create or replace function wallet_spent_on(w wallets, p_now timestamptz) returns bigint
language plpgsql immutable security definer set search_path = public, pg_temp as $$
begin
  return case when w.spend_day = (p_now at time zone 'utc')::date then w.spend_today else 0 end;
end $$;
