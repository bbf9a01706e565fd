-- Wallet ledger: organisations, wallets, the append-only ledger, HTTP idempotency records,
-- phone numbers, and the money functions. Every money movement goes through ledger_post(),
-- which locks the wallet row, so one organisation's movements are serialised and each
-- balance change is written in the same statement group as its ledger entry.
--
-- Applied by the Supabase CLI (`supabase db push`) or by our runner (shared/db/migrate.ts).

-- Supabase has these roles; a plain Postgres gets them so that the grants below mean the same.
do $$
declare r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    begin
      execute format('create role %I nologin', r);
    exception when duplicate_object or unique_violation then null;
    end;
  end loop;
end $$;

-- Functions created from here on are not executable by PUBLIC unless granted (failure mode 20).
alter default privileges in schema public revoke execute on functions from public;

create table organizations (
  id         uuid primary key default gen_random_uuid(),
  name       text not null check (length(name) between 1 and 200),
  created_at timestamptz not null default now()
);

create table wallets (
  org_id     uuid primary key references organizations (id),
  currency   text not null check (currency ~ '^[a-z]{3}$'),
  -- Minor units. May go below zero only through call charges (the call happened).
  balance    bigint not null default 0,
  -- How far below zero call charges are expected to go; charges beyond it are still recorded
  -- and reported (failure mode 4). New calls are refused long before, by CALL_MIN_BALANCE.
  debt_limit bigint not null default 0 check (debt_limit >= 0),
  -- Grows with every change; the Redis cache only ever stores a newer version.
  version    bigint not null default 0 check (version >= 0),
  updated_at timestamptz not null default now()
);

create table ledger_entries (
  id                bigint generated always as identity primary key,
  org_id            uuid not null references wallets (org_id),
  kind              text not null,
  amount            bigint not null,
  balance_before    bigint not null,
  balance_after     bigint not null,
  reference         text check (length(reference) <= 500),
  idempotency_key   text not null check (length(idempotency_key) between 1 and 300),
  reverses_entry_id bigint references ledger_entries (id),
  created_at        timestamptz not null default now(),
  constraint ledger_entries_arithmetic check (balance_after = balance_before + amount),
  constraint ledger_entries_kind_sign check (
       (kind = 'topup' and amount between 1 and 100000000 and reverses_entry_id is null)
    or (kind = 'phone_number' and amount < 0 and reverses_entry_id is null)
    or (kind = 'phone_number_refund' and amount > 0 and reverses_entry_id is not null)
    or (kind = 'call' and amount <= 0 and reverses_entry_id is null)),
  -- Plain (not DEFERRABLE) unique constraints: ON CONFLICT and concurrent inserts arbitrate on
  -- them (failure mode 11).
  constraint ledger_entries_idempotency_key unique (org_id, idempotency_key),
  -- At most one refund per debit, whatever code path asks (failure mode 10).
  constraint ledger_entries_one_refund_per_debit unique (reverses_entry_id)
);
create index ledger_entries_org_newest on ledger_entries (org_id, id desc);

create function ledger_entries_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'ledger_entries is append-only (% refused)', tg_op using errcode = '42501';
end $$;
create trigger ledger_entries_no_update before update or delete on ledger_entries
  for each row execute function ledger_entries_append_only();
create trigger ledger_entries_no_truncate before truncate on ledger_entries
  for each statement execute function ledger_entries_append_only();

-- The first outcome of every idempotent HTTP operation, recorded in the transaction that
-- produced it, so "done" can never be recorded without the effect (failure mode 9).
create table idempotency_keys (
  org_id      uuid not null references organizations (id),
  scope       text not null check (scope in ('credit', 'provision')),
  key         text not null check (key ~ '^[!-~]{1,255}$'),
  fingerprint text not null check (fingerprint ~ '^[0-9a-f]{64}$'),
  outcome     jsonb not null,
  created_at  timestamptz not null default now(),
  primary key (org_id, scope, key)
);

-- Numbers whose calls are gated: bought by provisioning or registered by an operator.
create table phone_numbers (
  id                   uuid primary key default gen_random_uuid(),
  org_id               uuid not null references organizations (id),
  e164                 text not null check (e164 ~ '^\+[1-9][0-9]{6,14}$'),
  vapi_phone_number_id text check (length(vapi_phone_number_id) between 1 and 200),
  assistant_id         text check (length(assistant_id) between 1 and 200),
  twilio_sid           text check (twilio_sid ~ '^PN[0-9a-fA-F]{32}$'),
  source               text not null check (source in ('provisioned', 'registered')),
  created_at           timestamptz not null default now(),
  released_at          timestamptz
);
create unique index phone_numbers_live_e164 on phone_numbers (e164) where released_at is null;
create unique index phone_numbers_live_vapi_id on phone_numbers (vapi_phone_number_id)
  where released_at is null and vapi_phone_number_id is not null;

-- ---------------------------------------------------------------------------------------------
-- ledger_post: the one place a balance changes.
-- Inputs:  org, kind, signed amount, ledger idempotency key, reference, reversed entry (refunds),
--          require_funds (true: refuse to go below zero; false: record even into debt).
-- Output:  jsonb {outcome: posted | replayed | insufficient_funds | not_found | key_conflict,
--          entry_id, amount, balance_before, balance_after, balance, version, currency, ...}.
-- Effects: at most one ledger entry and one matching wallet update, under the wallet row lock.
--          A replay of the same key returns the original entry and changes nothing.
-- Internal: not granted to anyone; the public functions below call it as their owner.
-- ---------------------------------------------------------------------------------------------
create function ledger_post(
  p_org_id uuid, p_kind text, p_amount bigint, p_idempotency_key text, p_reference text,
  p_reverses_entry_id bigint, p_require_funds boolean
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  w wallets%rowtype;
  e ledger_entries%rowtype;
begin
  -- The row lock serialises every movement of this wallet: the funds check and the debit are
  -- one decision (failure mode 1), and the key lookup below sees every committed entry.
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;

  select * into e from ledger_entries
   where org_id = p_org_id and idempotency_key = p_idempotency_key;
  if found then
    if e.kind <> p_kind or e.amount <> p_amount
       or e.reverses_entry_id is distinct from p_reverses_entry_id then
      return jsonb_build_object('outcome', 'key_conflict', 'entry_id', e.id);
    end if;
    return ledger_result('replayed', e, w);
  end if;

  if p_require_funds and w.balance + p_amount < 0 then
    return jsonb_build_object(
      'outcome', 'insufficient_funds', 'currency', w.currency, 'balance', w.balance,
      'required', -p_amount, 'shortfall', -p_amount - w.balance, 'version', w.version);
  end if;

  update wallets
     set balance = balance + p_amount, version = version + 1, updated_at = now()
   where org_id = p_org_id
  returning * into w;

  insert into ledger_entries
    (org_id, kind, amount, balance_before, balance_after, reference, idempotency_key,
     reverses_entry_id)
  values
    (p_org_id, p_kind, p_amount, w.balance - p_amount, w.balance, p_reference,
     p_idempotency_key, p_reverses_entry_id)
  returning * into e;

  return ledger_result('posted', e, w);
end $$;

create function ledger_result(p_outcome text, e ledger_entries, w wallets) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'outcome', p_outcome, 'entry_id', e.id, 'kind', e.kind, 'amount', e.amount,
    'balance_before', e.balance_before, 'balance_after', e.balance_after,
    'created_at', e.created_at,
    -- The wallet now (for the cache), which after a replay may differ from balance_after.
    'balance', w.balance, 'version', w.version, 'currency', w.currency,
    'debt_limit', w.debt_limit)
$$;

-- ---------------------------------------------------------------------------------------------
-- idempotency_lookup / idempotency_record: the HTTP-level first-response store.
-- Call lookup only while holding the wallet row lock (every public function below does), so two
-- requests with one key are serialised and the second sees the first's record.
-- lookup returns null (new key), {outcome: idempotency_key_reused} (other fingerprint), or the
-- recorded outcome with replayed = true.
-- ---------------------------------------------------------------------------------------------
create function idempotency_lookup(p_org_id uuid, p_scope text, p_key text, p_fingerprint text)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r idempotency_keys%rowtype;
begin
  select * into r from idempotency_keys
   where org_id = p_org_id and scope = p_scope and key = p_key;
  if not found then
    return null;
  end if;
  if r.fingerprint <> p_fingerprint then
    return jsonb_build_object('outcome', 'idempotency_key_reused');
  end if;
  return r.outcome || jsonb_build_object('replayed', true);
end $$;

create function idempotency_record(
  p_org_id uuid, p_scope text, p_key text, p_fingerprint text, p_outcome jsonb
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into idempotency_keys (org_id, scope, key, fingerprint, outcome)
  values (p_org_id, p_scope, p_key, p_fingerprint, p_outcome);
  return p_outcome || jsonb_build_object('replayed', false);
end $$;

create function lock_wallet(p_org_id uuid) returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform 1 from wallets where org_id = p_org_id for update;
  return found;
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_credit: a top-up by an operator.
-- Inputs:  org, amount (1..100000000), the client's Idempotency-Key and request fingerprint, reason.
-- Output:  ledger_post's jsonb with outcome credited | not_found | idempotency_key_reused,
--          plus replayed (true when this is the first outcome returned again).
-- Effects: one topup entry per key; the first outcome recorded with it.
-- ---------------------------------------------------------------------------------------------
create function wallet_credit(
  p_org_id uuid, p_amount bigint, p_idempotency_key text, p_fingerprint text, p_reason text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  prior jsonb;
  r jsonb;
begin
  if p_amount is null or p_amount < 1 or p_amount > 100000000 then
    raise exception 'wallet_credit: amount % out of range 1..100000000', p_amount
      using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'credit', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  r := ledger_post(p_org_id, 'topup', p_amount, 'topup:' || p_idempotency_key, p_reason,
                   null, false);
  if r->>'outcome' <> 'posted' then
    raise exception 'wallet_credit: unexpected ledger outcome %', r using errcode = 'XX000';
  end if;
  return idempotency_record(p_org_id, 'credit', p_idempotency_key, p_fingerprint,
                            r || jsonb_build_object('outcome', 'credited'));
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_debit_for_purchase: a conditional debit that never takes the balance below zero.
-- Inputs:  org, price (> 0), kind of purchase (phone_number), ledger key, reference.
-- Output:  outcome debited | insufficient_funds (balance, required, shortfall) | not_found |
--          key_conflict; replayed = true when the key was already debited.
-- Effects: at most one debit per key. Provisioning calls this inside provision_request_create.
-- ---------------------------------------------------------------------------------------------
create function wallet_debit_for_purchase(
  p_org_id uuid, p_amount bigint, p_idempotency_key text, p_reference text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  if p_amount is null or p_amount < 1 then
    raise exception 'wallet_debit_for_purchase: amount % must be positive', p_amount
      using errcode = '22023';
  end if;
  r := ledger_post(p_org_id, 'phone_number', -p_amount, p_idempotency_key, p_reference,
                   null, true);
  if r->>'outcome' in ('posted', 'replayed') then
    r := r || jsonb_build_object('outcome', 'debited', 'replayed', r->>'outcome' = 'replayed');
  end if;
  return r;
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_refund: reverses one purchase debit in full, exactly once.
-- Inputs:  org, the debit's entry id, reason.
-- Output:  outcome refunded (replayed = true if it already was) | not_found | not_refundable.
-- Effects: one phone_number_refund entry per debit, guaranteed by the unique reverses_entry_id.
-- ---------------------------------------------------------------------------------------------
create function wallet_refund(p_org_id uuid, p_entry_id bigint, p_reason text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  d ledger_entries%rowtype;
  r jsonb;
begin
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into d from ledger_entries where id = p_entry_id and org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if d.kind <> 'phone_number' then
    return jsonb_build_object('outcome', 'not_refundable', 'kind', d.kind);
  end if;
  r := ledger_post(p_org_id, 'phone_number_refund', -d.amount, 'refund:' || d.id, p_reason,
                   d.id, false);
  return r || jsonb_build_object('outcome', 'refunded', 'replayed', r->>'outcome' = 'replayed');
end $$;

-- ---------------------------------------------------------------------------------------------
-- wallet_charge_call: bills a call that happened, once per call id.
-- Inputs:  org, Vapi call id, amount (>= 0, computed by the caller from the one rate), reference.
-- Output:  outcome charged (replayed, beyond_debt_limit) | not_found | key_conflict.
-- Effects: one call entry per call id, recorded even when it takes the balance below zero or
--          beyond the debt limit (failure mode 4); zero-second calls record a zero entry.
-- ---------------------------------------------------------------------------------------------
create function wallet_charge_call(
  p_org_id uuid, p_call_id text, p_amount bigint, p_reference text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r jsonb;
begin
  if p_amount is null or p_amount < 0 then
    raise exception 'wallet_charge_call: amount % must be >= 0', p_amount using errcode = '22023';
  end if;
  if p_call_id is null or length(p_call_id) not between 1 and 200 then
    raise exception 'wallet_charge_call: bad call id' using errcode = '22023';
  end if;
  r := ledger_post(p_org_id, 'call', -p_amount, 'call:' || p_call_id, p_reference, null, false);
  if r->>'outcome' in ('posted', 'replayed') then
    r := r || jsonb_build_object(
      'outcome', 'charged', 'replayed', r->>'outcome' = 'replayed',
      'beyond_debt_limit', (r->>'balance_after')::bigint < -(r->>'debt_limit')::bigint);
  end if;
  return r;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Organisations and reads. Reads are functions too, so that both data adapters (node-postgres
-- and supabase-js RPC) use one interface and no table needs to be exposed.
-- ---------------------------------------------------------------------------------------------
create function org_create(p_name text, p_org_id uuid, p_currency text) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare v_id uuid;
begin
  insert into organizations (id, name) values (coalesce(p_org_id, gen_random_uuid()), p_name)
  on conflict (id) do nothing
  returning id into v_id;
  if v_id is null then
    return jsonb_build_object('outcome', 'exists', 'org_id', p_org_id);
  end if;
  insert into wallets (org_id, currency) values (v_id, p_currency);
  return jsonb_build_object('outcome', 'created', 'org_id', v_id);
end $$;

create function wallet_get(p_org_id uuid) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'org_id', w.org_id, 'currency', w.currency, 'balance', w.balance,
       'debt_limit', w.debt_limit, 'version', w.version, 'updated_at', w.updated_at)
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$$;

-- Newest first, keyset-paginated by entry id (p_before_id null = from the newest).
create function ledger_list(p_org_id uuid, p_before_id bigint, p_limit integer) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', e.id, 'kind', e.kind, 'amount', e.amount, 'balance_before', e.balance_before,
           'balance_after', e.balance_after, 'reference', e.reference,
           'created_at', e.created_at) order by e.id desc), '[]'::jsonb))
    from (select * from ledger_entries
           where org_id = p_org_id and (p_before_id is null or id < p_before_id)
           order by id desc
           limit least(greatest(p_limit, 1), 1000)) e
$$;

create function phone_number_register(
  p_org_id uuid, p_e164 text, p_vapi_phone_number_id text, p_assistant_id text
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare v_id uuid;
begin
  if not exists (select 1 from organizations where id = p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into phone_numbers (org_id, e164, vapi_phone_number_id, assistant_id, source)
  values (p_org_id, p_e164, p_vapi_phone_number_id, p_assistant_id, 'registered')
  on conflict do nothing
  returning id into v_id;
  if v_id is null then
    return jsonb_build_object('outcome', 'number_taken');
  end if;
  return jsonb_build_object('outcome', 'registered', 'id', v_id, 'org_id', p_org_id,
    'e164', p_e164, 'vapi_phone_number_id', p_vapi_phone_number_id,
    'assistant_id', p_assistant_id);
end $$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20): nobody but the service role may run a function or touch a table.
-- Row-level security with no policies keeps the tables closed through PostgREST as well.
-- ---------------------------------------------------------------------------------------------
alter table organizations enable row level security;
alter table wallets enable row level security;
alter table ledger_entries enable row level security;
alter table idempotency_keys enable row level security;
alter table phone_numbers enable row level security;

revoke all on all tables in schema public from public, anon, authenticated;
revoke all on all sequences in schema public from public, anon, authenticated;
revoke execute on all functions in schema public from public, anon, authenticated;
grant usage on schema public to service_role;
grant execute on function
  wallet_credit(uuid, bigint, text, text, text),
  wallet_debit_for_purchase(uuid, bigint, text, text),
  wallet_refund(uuid, bigint, text),
  wallet_charge_call(uuid, text, bigint, text),
  org_create(text, uuid, text),
  wallet_get(uuid),
  ledger_list(uuid, bigint, integer),
  phone_number_register(uuid, text, text, text)
to service_role;
