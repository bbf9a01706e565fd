-- table org_dialing
-- Dialing permissions of an organisation's outbound calls (PUT /api/admin/orgs/:orgId/dialing):
-- the countries it may call (ISO 3166 alpha-2, by the number's calling code; null = any) and the
-- calls it may place per second (null = no limit). No row = no restriction.
--
-- Defined in 20261207001000_call_rates_and_outbound_calls.

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
