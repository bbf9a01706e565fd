-- table call_rates
-- The operators' rate table (CONTRACT §10): PUT /api/admin/rates replaces it whole
-- (call_rates_put). The longest prefix of a number wins (call_rate_match); no row matches →
-- CALL_RATE_PER_MINUTE, no connect fee, no minimum, increments of 1 s. A call's rate is fixed at
-- its admission: copied onto its calls row and its Redis hold entry.
--
-- Defined in 20261207001000_call_rates_and_outbound_calls.

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
