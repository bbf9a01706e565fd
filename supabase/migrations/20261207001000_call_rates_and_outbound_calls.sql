-- Outbound calls, rates by destination, dialing permissions (issue 23; CONTRACT §10; failure
-- modes 41 and 43). Tables only; the functions come in the migration written after this one.
--
-- call_rates: the operators' rate table (PUT /api/admin/rates replaces it whole). The longest
-- prefix of a number wins; no row matches → CALL_RATE_PER_MINUTE, no connect fee, increments of 1 s.
create table call_rates (
    prefix text not null,
    rate_per_minute bigint not null,
    connect_fee bigint default 0 not null,
    minimum_seconds integer default 0 not null,
    increment_seconds integer default 1 not null,
    blocked boolean default false not null,
    updated_at timestamp with time zone default now() not null,
    constraint call_rates_pkey primary key (prefix),
    constraint call_rates_prefix_check check ((prefix ~ '^\+[0-9]{1,15}$'::text)),
    constraint call_rates_rate_per_minute_check check (((rate_per_minute >= 1) and (rate_per_minute <= 1000000))),
    constraint call_rates_connect_fee_check check (((connect_fee >= 0) and (connect_fee <= 1000000))),
    constraint call_rates_minimum_seconds_check check (((minimum_seconds >= 0) and (minimum_seconds <= 3600))),
    constraint call_rates_increment_seconds_check check (((increment_seconds >= 1) and (increment_seconds <= 3600)))
);
alter table call_rates enable row level security;

-- org_dialing: where an organisation's outbound calls may go, and how fast they may be placed.
create table org_dialing (
    org_id uuid not null,
    allowed_countries text[],
    calls_per_second integer,
    updated_at timestamp with time zone default now() not null,
    constraint org_dialing_pkey primary key (org_id),
    constraint org_dialing_org_id_fkey foreign key (org_id) references organizations(id),
    constraint org_dialing_allowed_countries_check check (((allowed_countries is null) or ((cardinality(allowed_countries) <= 300) and (array_to_string(allowed_countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$'::text)))),
    constraint org_dialing_calls_per_second_check check (((calls_per_second >= 0) and (calls_per_second <= 1000)))
);
alter table org_dialing enable row level security;

-- outbound_calls: one row per call the service places through Vapi POST /call, keyed by our call
-- id (= calls.call_id, the key of its hold, charge and webhooks); Vapi's id once Vapi answered.
create table outbound_calls (
    call_id text not null,
    org_id uuid not null,
    idempotency_key text not null,
    state text default 'placing'::text not null,
    vapi_call_id text,
    destination text not null,
    country text,
    vapi_phone_number_id text not null,
    assistant_id text not null,
    created_at timestamp with time zone default now() not null,
    placed_at timestamp with time zone,
    failure text,
    next_check_at timestamp with time zone,
    constraint outbound_calls_pkey primary key (call_id),
    constraint outbound_calls_org_id_fkey foreign key (org_id) references organizations(id),
    constraint outbound_calls_state_check check ((state = any (array['placing'::text, 'placed'::text, 'failed'::text]))),
    constraint outbound_calls_placed_has_id check (((state = 'placed'::text) = (vapi_call_id is not null))),
    constraint outbound_calls_destination_check check ((destination ~ '^\+[1-9][0-9]{6,14}$'::text)),
    constraint outbound_calls_failure_check check ((length(failure) <= 500))
);
create unique index outbound_calls_vapi_call_id on outbound_calls using btree (vapi_call_id) where (vapi_call_id is not null);
create unique index outbound_calls_by_key on outbound_calls using btree (org_id, idempotency_key);
create index outbound_calls_recent on outbound_calls using btree (org_id, created_at);
create index outbound_calls_placing on outbound_calls using btree (created_at, call_id) where (state = 'placing'::text);
alter table outbound_calls enable row level security;

-- The rate fixed at a call's admission (null on rows written before: CALL_RATE_PER_MINUTE,
-- no connect fee, no minimum, increments of 1 s, as they were admitted).
alter table calls
  add column rate_prefix text,
  add column rate_per_minute bigint,
  add column connect_fee bigint,
  add column minimum_seconds integer,
  add column increment_seconds integer,
  add constraint calls_rate_check check (((rate_per_minute is null) or ((rate_per_minute >= 1) and (connect_fee >= 0) and (minimum_seconds >= 0) and (increment_seconds >= 1))));

-- Outbound calls keep their first answer under the dashboard's Idempotency-Key, scope 'call'.
alter table idempotency_keys drop constraint idempotency_keys_scope_check;
alter table idempotency_keys add constraint idempotency_keys_scope_check
  check ((scope = any (array['credit'::text, 'provision'::text, 'topup'::text, 'call'::text])));

revoke all on table call_rates, org_dialing, outbound_calls from public, anon, authenticated, service_role;
