-- Calls: the durable side of the call gate. Holds of calls in progress (one row per Vapi call
-- id), end-of-call reports (one per call id), and the functions the gate, the billing worker and
-- the sweeper use. Redis keeps the hot copy of the holds; this table is what the Postgres
-- fallback decides on and what the sweeper settles from (docs/call-gate.md).

-- One row per call that passed the gate. The hold is what the call may still cost; it ends with
-- the call's status-update "ended", its billing, or its expiry (hold_expires_at).
create table calls (
  call_id              text primary key check (length(call_id) between 1 and 200),
  org_id               uuid not null references organizations (id),
  hold_state           text not null default 'held' check (hold_state in ('held', 'released')),
  hold_amount          bigint not null check (hold_amount >= 0),
  max_duration_seconds integer not null check (max_duration_seconds between 10 and 43200),
  hold_expires_at      timestamptz not null,
  admitted_path        text not null check (admitted_path in ('cache', 'database_fallback')),
  release_cause        text check (length(release_cause) <= 100),
  created_at           timestamptz not null default now(),
  released_at          timestamptz,
  -- The call's charge, once billed (from its report or by the sweeper).
  charge_entry_id      bigint references ledger_entries (id),
  settled_by           text check (settled_by in ('report', 'sweeper', 'not_found')),
  settled_at           timestamptz,
  constraint calls_released_has_time check ((hold_state = 'released') = (released_at is not null))
);
create index calls_open_by_org on calls (org_id) where hold_state = 'held';
create index calls_unsettled on calls (hold_expires_at) where settled_at is null;

-- End-of-call reports: the first one per call id is kept (the key is the call id within this
-- message type, failure mode 8), billed once, and re-enqueued by the sweeper until it is.
create table call_reports (
  call_id          text primary key check (length(call_id) between 1 and 200),
  -- Null when no organisation could be found (unknown number, no hold, no metadata).
  org_id           uuid references organizations (id),
  started_at       timestamptz,
  ended_at         timestamptz,
  duration_seconds numeric check (duration_seconds >= 0 and duration_seconds <= 1000000),
  ended_reason     text check (length(ended_reason) <= 200),
  source           text not null check (source in ('webhook', 'vapi_api')),
  received_at      timestamptz not null default now(),
  charge_entry_id  bigint references ledger_entries (id),
  billed_at        timestamptz,
  constraint call_reports_billed_together check ((billed_at is null) = (charge_entry_id is null))
);
create index call_reports_unbilled on call_reports (received_at) where billed_at is null;

-- ---------------------------------------------------------------------------------------------
-- phone_number_resolve: which organisation and assistant a called number belongs to.
-- Inputs:  Vapi phone-number id (may be null), called number in E.164 (may be null).
-- Output:  {outcome: found, org_id, assistant_id (or null), e164, vapi_phone_number_id} | {outcome: not_found}.
-- Effects: none. Live rows only (released_at is null); the Vapi id wins over the number.
-- ---------------------------------------------------------------------------------------------
create function phone_number_resolve(p_vapi_phone_number_id text, p_e164 text) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'org_id', n.org_id, 'assistant_id', n.assistant_id,
                               'e164', n.e164, 'vapi_phone_number_id', n.vapi_phone_number_id)
       from phone_numbers n
      where n.released_at is null
        and ((p_vapi_phone_number_id is not null and n.vapi_phone_number_id = p_vapi_phone_number_id)
          or (p_e164 is not null and n.e164 = p_e164))
      order by (n.vapi_phone_number_id is not distinct from p_vapi_phone_number_id) desc
      limit 1),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- Sum of the live holds of one organisation at p_now (internal).
create function call_holds_sum(p_org_id uuid, p_now timestamptz) returns bigint
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(sum(hold_amount), 0)::bigint from calls
   where org_id = p_org_id and hold_state = 'held' and hold_expires_at > p_now
$$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_snapshot: what the Redis cache needs to decide for one organisation.
-- Inputs:  org.
-- Output:  {outcome: found, balance, version, currency, holds: [{call_id, amount, max_duration_seconds,
--          expires_at_ms}]} | {outcome: not_found}.
-- Effects: none. Used to fill the cache on a miss (wallet version-guarded, holds merged).
-- ---------------------------------------------------------------------------------------------
create function call_gate_snapshot(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'balance', w.balance, 'version', w.version, 'currency', w.currency,
       'holds', coalesce((select jsonb_agg(jsonb_build_object(
                  'call_id', c.call_id, 'amount', c.hold_amount,
                  'max_duration_seconds', c.max_duration_seconds,
                  'expires_at_ms', (extract(epoch from c.hold_expires_at) * 1000)::bigint))
                  from calls c
                 where c.org_id = w.org_id and c.hold_state = 'held' and c.hold_expires_at > now()),
                 '[]'::jsonb))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- call_gate_hold: the Postgres side of admission, used (a) to decide when Redis is unavailable
-- and (b) to record, after answering, a hold the Redis path placed (p_record_only).
-- Inputs:  org, call id, hold amount (null = only report what is available), granted max
--          duration, hold lifetime in seconds, CALL_MIN_BALANCE, the deciding path,
--          p_record_only (true: insert the hold without checking funds: Redis already decided).
-- Output:  {outcome: existing, hold_amount, max_duration_seconds, hold_state}
--          | {outcome: available, available}          (probe, or not enough for p_amount)
--          | {outcome: held, hold_amount, max_duration_seconds, available}
--          | {outcome: not_found}
-- Effects: at most one calls row per call id, inserted under the wallet row lock so that
--          concurrent admissions of one organisation see each other's holds (failure mode 17).
-- ---------------------------------------------------------------------------------------------
create function call_gate_hold(
  p_org_id uuid, p_call_id text, p_amount bigint, p_max_duration_seconds integer,
  p_hold_seconds integer, p_min_balance bigint, p_path text, p_record_only boolean
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  c calls%rowtype;
  v_balance bigint;
  v_available bigint;
begin
  if p_amount is not null and p_amount < 0 then
    raise exception 'call_gate_hold: amount % must be >= 0', p_amount using errcode = '22023';
  end if;
  select balance into v_balance from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'existing', 'hold_amount', c.hold_amount,
      'max_duration_seconds', c.max_duration_seconds, 'hold_state', c.hold_state);
  end if;
  v_available := v_balance - call_holds_sum(p_org_id, now());
  if not p_record_only and (p_amount is null or v_available < greatest(p_amount, p_min_balance)) then
    return jsonb_build_object('outcome', 'available', 'available', v_available);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path)
  values (p_call_id, p_org_id, p_amount, p_max_duration_seconds,
          now() + make_interval(secs => p_hold_seconds), p_path);
  return jsonb_build_object('outcome', 'held', 'hold_amount', p_amount,
    'max_duration_seconds', p_max_duration_seconds, 'available', v_available - p_amount);
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_hold_release: ends a call's hold (status-update "ended", billing, or the sweeper).
-- Inputs:  call id, cause.
-- Output:  {outcome: released | already_released, org_id} | {outcome: not_found}.
-- Effects: marks the hold released once; never deletes the row (it is the call's record).
-- ---------------------------------------------------------------------------------------------
create function call_hold_release(p_call_id text, p_cause text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare c calls%rowtype;
begin
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

-- Sum of live holds, for GET /api/wallet when Redis cannot say.
create function call_holds_total(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('held', call_holds_sum(p_org_id, now()))
$$;

-- ---------------------------------------------------------------------------------------------
-- call_report_record: keeps the first end-of-call report of a call id.
-- Inputs:  call id, organisation named by the call's metadata (may be null), the called number's
--          Vapi id and E.164 (may be null), startedAt, endedAt, durationSeconds, endedReason, source.
-- Output:  {outcome: recorded | duplicate, org_id (or null), billed}.
-- Effects: at most one call_reports row per call id. The organisation is taken from the call's
--          hold, else the metadata (if such an organisation exists), else the number.
-- ---------------------------------------------------------------------------------------------
create function call_report_record(
  p_call_id text, p_org_id uuid, p_vapi_phone_number_id text, p_e164 text,
  p_started_at timestamptz, p_ended_at timestamptz, p_duration_seconds numeric,
  p_ended_reason text, p_source text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  v_org uuid;
  r call_reports%rowtype;
begin
  select * into r from call_reports where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'duplicate', 'org_id', r.org_id, 'billed', r.billed_at is not null);
  end if;
  select org_id into v_org from calls where call_id = p_call_id;
  if v_org is null and p_org_id is not null then
    select id into v_org from organizations where id = p_org_id;
  end if;
  if v_org is null then
    v_org := (phone_number_resolve(p_vapi_phone_number_id, p_e164)->>'org_id')::uuid;
  end if;
  insert into call_reports (call_id, org_id, started_at, ended_at, duration_seconds, ended_reason, source)
  values (p_call_id, v_org, p_started_at, p_ended_at, p_duration_seconds, left(p_ended_reason, 200), p_source)
  on conflict (call_id) do nothing
  returning * into r;
  if not found then
    select * into r from call_reports where call_id = p_call_id;
    return jsonb_build_object('outcome', 'duplicate', 'org_id', r.org_id, 'billed', r.billed_at is not null);
  end if;
  return jsonb_build_object('outcome', 'recorded', 'org_id', v_org, 'billed', false);
end $$;

-- call_report_get: the recorded report of a call (for the billing worker).
create function call_report_get(p_call_id text) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'call_id', r.call_id, 'org_id', r.org_id,
       'started_at', r.started_at, 'ended_at', r.ended_at, 'duration_seconds', r.duration_seconds,
       'source', r.source, 'billed', r.billed_at is not null)
       from call_reports r where r.call_id = p_call_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- call_mark_billed: records that a call's charge is in the ledger and ends its hold.
-- Inputs:  call id, the ledger entry of its charge, who settled it (report | sweeper).
-- Output:  {outcome: marked | not_found}.
-- Effects: stamps the report and the calls row (if any) once; releases the hold.
--          Called after wallet_charge_call, which is itself once per call id: a crash between
--          the two leaves the report unbilled and the sweeper re-runs both (the charge replays).
-- ---------------------------------------------------------------------------------------------
create function call_mark_billed(p_call_id text, p_entry_id bigint, p_settled_by text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if not exists (select 1 from ledger_entries where id = p_entry_id and kind = 'call'
                  and idempotency_key = 'call:' || p_call_id) then
    raise exception 'call_mark_billed: entry % is not the charge of call %', p_entry_id, p_call_id
      using errcode = '22023';
  end if;
  update call_reports set billed_at = now(), charge_entry_id = p_entry_id
   where call_id = p_call_id and billed_at is null;
  update calls set charge_entry_id = p_entry_id, settled_by = p_settled_by, settled_at = now(),
                   hold_state = 'released', released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'billed')
   where call_id = p_call_id and settled_at is null;
  return jsonb_build_object('outcome', 'marked');
end $$;

-- ---------------------------------------------------------------------------------------------
-- call_settle_not_found: Vapi does not know the call: end its hold without a charge.
-- ---------------------------------------------------------------------------------------------
create function call_settle_not_found(p_call_id text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  update calls set settled_by = 'not_found', settled_at = now(), hold_state = 'released',
                   released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'vapi_not_found')
   where call_id = p_call_id and settled_at is null;
  return jsonb_build_object('outcome', case when found then 'settled' else 'unchanged' end);
end $$;

-- ---------------------------------------------------------------------------------------------
-- calls_due_for_sweep: the sweeper's work list at p_now.
-- Inputs:  now, grace (seconds a report may lag behind the end of its call), batch size.
-- Output:  {missing: [{call_id, org_id}], unbilled: [call_id]}
--          missing  = admitted calls with no report whose hold expired, or which ended more
--                     than the grace ago (their report is considered lost, failure mode 19);
--          unbilled = reports recorded but not billed for more than the grace (re-enqueue).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
create function calls_due_for_sweep(p_now timestamptz, p_grace_seconds integer, p_limit integer)
returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object(
    'missing', coalesce((select jsonb_agg(jsonb_build_object('call_id', x.call_id, 'org_id', x.org_id))
       from (select c.call_id, c.org_id from calls c
              where c.settled_at is null
                and not exists (select 1 from call_reports r where r.call_id = c.call_id)
                and (c.hold_expires_at <= p_now
                     or c.released_at <= p_now - make_interval(secs => p_grace_seconds))
              order by c.hold_expires_at
              limit least(greatest(p_limit, 1), 1000)) x), '[]'::jsonb),
    'unbilled', coalesce((select jsonb_agg(y.call_id)
       from (select r.call_id from call_reports r
              where r.billed_at is null and r.org_id is not null
                and r.received_at <= p_now - make_interval(secs => p_grace_seconds)
              order by r.received_at
              limit least(greatest(p_limit, 1), 1000)) y), '[]'::jsonb))
$$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20), as in the first migration.
-- ---------------------------------------------------------------------------------------------
alter table calls enable row level security;
alter table call_reports enable row level security;
revoke all on calls, call_reports from public, anon, authenticated;
revoke execute on function
  phone_number_resolve(text, text),
  call_holds_sum(uuid, timestamptz),
  call_gate_snapshot(uuid),
  call_gate_hold(uuid, text, bigint, integer, integer, bigint, text, boolean),
  call_hold_release(text, text),
  call_holds_total(uuid),
  call_report_record(text, uuid, text, text, timestamptz, timestamptz, numeric, text, text),
  call_report_get(text),
  call_mark_billed(text, bigint, text),
  call_settle_not_found(text),
  calls_due_for_sweep(timestamptz, integer, integer)
from public, anon, authenticated;
grant execute on function
  phone_number_resolve(text, text),
  call_gate_snapshot(uuid),
  call_gate_hold(uuid, text, bigint, integer, integer, bigint, text, boolean),
  call_hold_release(text, text),
  call_holds_total(uuid),
  call_report_record(text, uuid, text, text, timestamptz, timestamptz, numeric, text, text),
  call_report_get(text),
  call_mark_billed(text, bigint, text),
  call_settle_not_found(text),
  calls_due_for_sweep(timestamptz, integer, integer)
to service_role;
