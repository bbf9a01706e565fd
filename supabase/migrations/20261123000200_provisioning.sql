-- Provisioning: the durable state machine of a phone-number purchase. The request row is written
-- in the same transaction as the debit (failure mode 12), every transition is conditional and
-- idempotent, `completed` and `refunded` are never left, and a refund is tied to its debit by the
-- ledger's unique reverses_entry_id (failure mode 10). Prices are passed in by the caller from
-- config.pricing: SQL holds no price (failure mode 5).
--
--   queued -> provisioning <-> retrying -> completed
--      \            \             \
--       `------------`-------------`--> failed -> refunded

create table provisioning_requests (
  id                     uuid primary key default gen_random_uuid(),
  org_id                 uuid not null references organizations (id),
  idempotency_key        text not null check (idempotency_key ~ '^[!-~]{1,255}$'),
  area_code              text not null check (area_code ~ '^[0-9]{3}$'),
  country                text not null check (country ~ '^[A-Z]{2}$'),
  assistant_id           text check (length(assistant_id) between 1 and 200),
  status                 text not null default 'queued'
                         check (status in ('queued', 'provisioning', 'retrying', 'completed', 'failed', 'refunded')),
  attempts               integer not null default 0 check (attempts >= 0),
  max_attempts           integer not null check (max_attempts between 1 and 50),
  phone_number           text check (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
  twilio_sid             text check (twilio_sid ~ '^PN[0-9a-fA-F]{32}$'),
  vapi_phone_number_id   text check (length(vapi_phone_number_id) between 1 and 200),
  -- Set before the first purchase / import request is sent: a request that never sent one
  -- cannot have bought anything, so its release step has nothing to look for.
  purchase_attempted     boolean not null default false,
  vapi_import_attempted  boolean not null default false,
  error                  text check (length(error) <= 1000),
  charged                bigint not null check (charged > 0),
  debit_entry_id         bigint not null unique references ledger_entries (id),
  refund_entry_id        bigint unique references ledger_entries (id),
  refunded               bigint not null default 0 check (refunded >= 0),
  currency               text not null check (currency ~ '^[a-z]{3}$'),
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now(),
  constraint provisioning_requests_key unique (org_id, idempotency_key),
  constraint provisioning_completed_has_number check (
    status <> 'completed' or (phone_number is not null and twilio_sid is not null)),
  constraint provisioning_refund_matches check (
    (status = 'refunded' and refund_entry_id is not null and refunded = charged)
    or (status <> 'refunded' and refund_entry_id is null and refunded = 0))
);
create index provisioning_requests_unfinished on provisioning_requests (updated_at)
  where status in ('queued', 'provisioning', 'retrying', 'failed');

create function provisioning_json(r provisioning_requests) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'id', r.id, 'org_id', r.org_id, 'area_code', r.area_code, 'country', r.country,
    'assistant_id', r.assistant_id, 'status', r.status, 'attempts', r.attempts,
    'max_attempts', r.max_attempts, 'phone_number', r.phone_number, 'twilio_sid', r.twilio_sid,
    'vapi_phone_number_id', r.vapi_phone_number_id, 'purchase_attempted', r.purchase_attempted,
    'vapi_import_attempted', r.vapi_import_attempted, 'error', r.error, 'charged', r.charged,
    'refunded', r.refunded, 'currency', r.currency, 'debit_entry_id', r.debit_entry_id,
    'refund_entry_id', r.refund_entry_id, 'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_create: debit the price and record the request, in one transaction.
-- Inputs:  org, price (> 0, from config.pricing), the client's Idempotency-Key and request
--          fingerprint, area code, country, assistant id (nullable), max attempts.
-- Output:  {outcome: queued, request: {...}, balance, version, currency}
--          | {outcome: insufficient_funds, currency, balance, required, shortfall}
--          | {outcome: not_found} | {outcome: idempotency_key_reused};
--          replayed = true when this is the first outcome of the same key returned again.
-- Effects: under the wallet lock: at most one phone_number debit and one queued request per key;
--          the first outcome (including a refusal) is recorded with it. Nothing on refusal.
-- ---------------------------------------------------------------------------------------------
create function provision_request_create(
  p_org_id uuid, p_price bigint, p_idempotency_key text, p_fingerprint text, p_area_code text,
  p_country text, p_assistant_id text, p_max_attempts integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  prior jsonb;
  d jsonb;
  r provisioning_requests%rowtype;
  v_id uuid := gen_random_uuid();
begin
  if p_price is null or p_price < 1 then
    raise exception 'provision_request_create: price % must be positive', p_price using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'provision', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  d := ledger_post(p_org_id, 'phone_number', -p_price, 'provision:' || p_idempotency_key,
                   'phone number ' || v_id, null, true);
  if d->>'outcome' = 'insufficient_funds' then
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
                              d - 'version');
  end if;
  if d->>'outcome' <> 'posted' then
    raise exception 'provision_request_create: unexpected ledger outcome %', d using errcode = 'XX000';
  end if;
  insert into provisioning_requests
    (id, org_id, idempotency_key, area_code, country, assistant_id, max_attempts, charged,
     debit_entry_id, currency)
  values
    (v_id, p_org_id, p_idempotency_key, p_area_code, p_country, p_assistant_id, p_max_attempts,
     p_price, (d->>'entry_id')::bigint, d->>'currency')
  returning * into r;
  return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
    jsonb_build_object('outcome', 'queued', 'request', provisioning_json(r),
      'balance', (d->>'balance')::bigint, 'version', (d->>'version')::bigint,
      'currency', d->>'currency'));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_start_attempt: a worker begins an attempt.
-- Inputs:  request id.  Output: {outcome: started | final | not_found, request}.
-- Effects: from queued/provisioning/retrying: status provisioning, attempts + 1 (a run after a
--          stall counts as an attempt). Final and failed requests are left alone.
-- ---------------------------------------------------------------------------------------------
create function provision_request_start_attempt(p_request_id uuid) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set status = 'provisioning', attempts = attempts + 1, updated_at = now()
   where id = p_request_id and status in ('queued', 'provisioning', 'retrying')
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'started', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_note_step: records that a purchase or import request is about to be sent
-- (and, once known, the number bought), so the release step knows where to look.
-- Inputs:  request id, step (purchase | vapi_import | purchased), number and sid for purchased.
-- Output:  {outcome: noted | final | not_found, request}.
-- Effects: only on requests in provisioning; idempotent.
-- ---------------------------------------------------------------------------------------------
create function provision_request_note_step(
  p_request_id uuid, p_step text, p_phone_number text, p_twilio_sid text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r provisioning_requests%rowtype;
begin
  if p_step not in ('purchase', 'vapi_import', 'purchased') then
    raise exception 'provision_request_note_step: bad step %', p_step using errcode = '22023';
  end if;
  update provisioning_requests
     set purchase_attempted = purchase_attempted or p_step = 'purchase',
         vapi_import_attempted = vapi_import_attempted or p_step = 'vapi_import',
         phone_number = case when p_step = 'purchased' then p_phone_number else phone_number end,
         twilio_sid = case when p_step = 'purchased' then p_twilio_sid else twilio_sid end,
         updated_at = now()
   where id = p_request_id and status = 'provisioning'
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'noted', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_mark_retrying: an attempt failed with a retryable error.
-- Inputs:  request id, error text.  Output: {outcome: retrying | unchanged | not_found, request}.
-- Effects: provisioning -> retrying with the error; any other state is left alone.
-- ---------------------------------------------------------------------------------------------
create function provision_request_mark_retrying(p_request_id uuid, p_error text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set status = 'retrying', error = left(p_error, 1000), updated_at = now()
   where id = p_request_id and status = 'provisioning'
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'retrying', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'unchanged', 'request', provisioning_json(r));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_complete: records the managed number and completes the request, together.
-- Inputs:  request id, E.164 number, Twilio sid, Vapi phone-number id.
-- Output:  {outcome: completed (replayed) | final | not_found, request}.
-- Effects: from queued/provisioning/retrying: one phone_numbers row (source provisioned, with the
--          requested assistant) and status completed, in one transaction. A completed request
--          returns replayed = true; a failed or refunded one is never revived (final).
-- ---------------------------------------------------------------------------------------------
create function provision_request_complete(
  p_request_id uuid, p_phone_number text, p_twilio_sid text, p_vapi_phone_number_id text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r provisioning_requests%rowtype;
begin
  select * into r from provisioning_requests where id = p_request_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if r.status = 'completed' then
    return jsonb_build_object('outcome', 'completed', 'replayed', true, 'request', provisioning_json(r));
  end if;
  if r.status not in ('queued', 'provisioning', 'retrying') then
    return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
  end if;
  insert into phone_numbers (org_id, e164, vapi_phone_number_id, assistant_id, twilio_sid, source)
  values (r.org_id, p_phone_number, p_vapi_phone_number_id, r.assistant_id, p_twilio_sid, 'provisioned');
  update provisioning_requests
     set status = 'completed', phone_number = p_phone_number, twilio_sid = p_twilio_sid,
         vapi_phone_number_id = p_vapi_phone_number_id, error = null, updated_at = now()
   where id = p_request_id
  returning * into r;
  return jsonb_build_object('outcome', 'completed', 'replayed', false, 'request', provisioning_json(r));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_mark_failed: the final failure of a request (any cause).
-- Inputs:  request id, error text.  Output: {outcome: failed (replayed) | final | not_found, request}.
-- Effects: queued/provisioning/retrying -> failed with the error. Already failed: replayed.
--          Completed or refunded: left alone (final).
-- ---------------------------------------------------------------------------------------------
create function provision_request_mark_failed(p_request_id uuid, p_error text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set status = 'failed', error = left(p_error, 1000), updated_at = now()
   where id = p_request_id and status in ('queued', 'provisioning', 'retrying')
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'failed', 'replayed', false, 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if r.status = 'failed' then
    return jsonb_build_object('outcome', 'failed', 'replayed', true, 'request', provisioning_json(r));
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_refund: refunds a failed request's debit and marks it refunded, together.
-- Inputs:  request id.
-- Output:  {outcome: refunded (replayed) | not_refundable (status) | not_found, request,
--          balance, version, currency} — the wallet snapshot for the cache.
-- Effects: under the wallet lock, then the request lock: one phone_number_refund entry reversing
--          the debit (the unique reverses_entry_id makes a second one impossible, whatever path
--          asks), refund_entry_id, refunded = charged, status refunded. Only from failed.
-- ---------------------------------------------------------------------------------------------
create function provision_request_refund(p_request_id uuid) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  v_org uuid;
  r provisioning_requests%rowtype;
  x jsonb;
  w wallets%rowtype;
begin
  select org_id into v_org from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  -- Lock order everywhere: wallet, then request.
  perform lock_wallet(v_org);
  select * into r from provisioning_requests where id = p_request_id for update;
  if r.status = 'refunded' then
    select * into w from wallets where org_id = v_org;
    return jsonb_build_object('outcome', 'refunded', 'replayed', true, 'request', provisioning_json(r),
      'balance', w.balance, 'version', w.version, 'currency', w.currency);
  end if;
  if r.status <> 'failed' then
    return jsonb_build_object('outcome', 'not_refundable', 'request', provisioning_json(r));
  end if;
  x := ledger_post(v_org, 'phone_number_refund', r.charged, 'refund:' || r.debit_entry_id,
                   'refund of phone number ' || r.id, r.debit_entry_id, false);
  if x->>'outcome' not in ('posted', 'replayed') then
    raise exception 'provision_request_refund: unexpected ledger outcome %', x using errcode = 'XX000';
  end if;
  update provisioning_requests
     set status = 'refunded', refund_entry_id = (x->>'entry_id')::bigint, refunded = charged,
         updated_at = now()
   where id = p_request_id
  returning * into r;
  return jsonb_build_object('outcome', 'refunded', 'replayed', x->>'outcome' = 'replayed',
    'request', provisioning_json(r), 'balance', (x->>'balance')::bigint,
    'version', (x->>'version')::bigint, 'currency', x->>'currency');
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_get: one request, only for its own organisation (failure mode 21).
-- Inputs:  org, request id.  Output: {outcome: found, request} | {outcome: not_found}.
-- ---------------------------------------------------------------------------------------------
create function provision_request_get(p_org_id uuid, p_request_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'request', provisioning_json(r))
       from provisioning_requests r where r.id = p_request_id and r.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- Internal lookup for workers (no org scope: a job carries only the request id).
create function provision_request_load(p_request_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'request', provisioning_json(r))
       from provisioning_requests r where r.id = p_request_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- ---------------------------------------------------------------------------------------------
-- provision_sweep_candidates: what the sweeper must look at.
-- Inputs:  page size, age in seconds after which a non-final request counts as stuck.
-- Output:  {items: [{id, status, attempts, max_attempts, updated_at}], stuck: n} — the oldest
--          requests in queued/provisioning/retrying/failed (failed = refund not yet done).
-- ---------------------------------------------------------------------------------------------
create function provision_sweep_candidates(p_limit integer, p_stuck_after_seconds integer)
returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object(
    'items', coalesce((select jsonb_agg(jsonb_build_object(
               'id', r.id, 'status', r.status, 'attempts', r.attempts,
               'max_attempts', r.max_attempts, 'updated_at', r.updated_at) order by r.updated_at)
          from (select * from provisioning_requests
                 where status in ('queued', 'provisioning', 'retrying', 'failed')
                 order by updated_at
                 limit least(greatest(p_limit, 1), 1000)) r), '[]'::jsonb),
    'stuck', (select count(*) from provisioning_requests
               where status in ('queued', 'provisioning', 'retrying', 'failed')
                 and updated_at < now() - make_interval(secs => p_stuck_after_seconds)))
$$;

alter table provisioning_requests enable row level security;
revoke all on provisioning_requests from public, anon, authenticated;
revoke execute on function
  provisioning_json(provisioning_requests),
  provision_request_create(uuid, bigint, text, text, text, text, text, integer),
  provision_request_start_attempt(uuid),
  provision_request_note_step(uuid, text, text, text),
  provision_request_mark_retrying(uuid, text),
  provision_request_complete(uuid, text, text, text),
  provision_request_mark_failed(uuid, text),
  provision_request_refund(uuid),
  provision_request_get(uuid, uuid),
  provision_request_load(uuid),
  provision_sweep_candidates(integer, integer)
from public, anon, authenticated;
grant execute on function
  provision_request_create(uuid, bigint, text, text, text, text, text, integer),
  provision_request_start_attempt(uuid),
  provision_request_note_step(uuid, text, text, text),
  provision_request_mark_retrying(uuid, text),
  provision_request_complete(uuid, text, text, text),
  provision_request_mark_failed(uuid, text),
  provision_request_refund(uuid),
  provision_request_get(uuid, uuid),
  provision_request_load(uuid),
  provision_sweep_candidates(integer, integer)
to service_role;
