-- table outbound_calls
-- One row per call the service places through Vapi POST /call (POST /api/calls), keyed by our call
-- id: the calls row's call_id, so its hold, charge and webhooks (which carry it as
-- metadata.billingCallId) use one key. Vapi's id is known once Vapi answered (state placed); a
-- call whose answer was lost stays 'placing' until the call sweeper finds it in Vapi's listing
-- (placed) or is sure Vapi never made it (failed: the hold released, nothing charged).
--
-- Defined in 20261207001000_call_rates_and_outbound_calls.

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
