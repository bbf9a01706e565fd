-- A call's control URL is often the first thing we hear of a call after admitting it (Vapi sends
-- it on the in-progress status-update, milliseconds after our answer), before the gate's batched
-- record of the hold has reached Postgres. Kept on the calls row, it was dropped when that row did
-- not exist yet, and lived only in Redis: a Redis that lost its data then left a call out of money
-- that nothing could end (found by the chaos test). Its own table, keyed by call id, keeps it
-- whatever the order.
create table call_controls (
  call_id     text primary key check (length(call_id) between 1 and 200),
  -- Vapi's monitor.controlUrl: a secret (whoever holds it controls the call).
  control_url text not null check (length(control_url) between 1 and 2000),
  learned_at  timestamptz not null default now()
);
alter table call_controls enable row level security;
revoke all on call_controls from public, anon, authenticated;

insert into call_controls (call_id, control_url)
select call_id, control_url from calls where control_url is not null
on conflict (call_id) do nothing;

-- ---------------------------------------------------------------------------------------------
-- call_control_url_set: remembers a call's control URL, whether or not the call's row exists yet.
-- Output: {outcome: stored}. The latest URL wins (Vapi may move a call between clusters).
-- ---------------------------------------------------------------------------------------------
create or replace function call_control_url_set(p_call_id text, p_url text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into call_controls (call_id, control_url) values (p_call_id, p_url)
  on conflict (call_id) do update set control_url = excluded.control_url, learned_at = now()
   where call_controls.control_url is distinct from excluded.control_url;
  return jsonb_build_object('outcome', 'stored');
end $$;

create or replace function call_meter_get(p_call_id text) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', c.org_id,
       'live', c.ended_at is null and c.settled_at is null and c.hold_state = 'held',
       'hold', call_hold_json(c), 'held_seconds', c.held_seconds,
       'control_url', (select cc.control_url from call_controls cc where cc.call_id = c.call_id))
       from calls c where c.call_id = p_call_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- A call that told us how to control it is a real call: a late store's hold for it is kept.
create or replace function call_gate_cancel_hold(p_call_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
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

alter table calls drop column control_url;
