-- table phone_numbers
-- Numbers whose calls are gated: bought by provisioning or registered by an operator.
--
-- (from 20261206000150_number_rental_tables)
-- Monthly rental (issue 24, CONTRACT §11). A number bought here is rented: rent_anchor is its
-- purchase time on the billing clock, paid_months how many months are paid (the purchase paid the
-- first), paid_until = rent_period_start(rent_anchor, paid_months). status:
--   active ──(a month begins and the wallet cannot pay)──► past_due ──(paid within the grace)──► active
--   past_due ──(grace over)──► releasing ──(gone at Vapi, then Twilio)──► released
--   active | past_due ──(DELETE /api/numbers/:id)──► releasing
-- A registered number (an operator's, not bought here) is never rented: its rent columns are null.
--
-- Defined in 20261123000100_wallet_ledger, 20261206000150_number_rental_tables.

CREATE TABLE phone_numbers (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    e164 text NOT NULL,
    vapi_phone_number_id text,
    assistant_id text,
    twilio_sid text,
    source text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    released_at timestamp with time zone,
    status text DEFAULT 'active'::text NOT NULL,
    rent_anchor timestamp with time zone,
    paid_months integer,
    paid_until timestamp with time zone,
    past_due_since timestamp with time zone,
    release_reason text,
    CONSTRAINT phone_numbers_assistant_id_check CHECK (((length(assistant_id) >= 1) AND (length(assistant_id) <= 200))),
    CONSTRAINT phone_numbers_e164_check CHECK ((e164 ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT phone_numbers_paid_months_check CHECK (((paid_months >= 1) AND (paid_months <= 1200))),
    CONSTRAINT phone_numbers_past_due_terms CHECK (((status <> 'past_due'::text) OR ((past_due_since IS NOT NULL) AND (rent_anchor IS NOT NULL)))),
    CONSTRAINT phone_numbers_release_reason_check CHECK (((release_reason IS NULL) OR ((release_reason = ANY (ARRAY['unpaid'::text, 'customer'::text])) AND (status = ANY (ARRAY['releasing'::text, 'released'::text]))))),
    CONSTRAINT phone_numbers_released_has_time CHECK (((status = 'released'::text) = (released_at IS NOT NULL))),
    CONSTRAINT phone_numbers_rent_terms CHECK ((((rent_anchor IS NULL) = (paid_months IS NULL)) AND ((rent_anchor IS NULL) = (paid_until IS NULL)))),
    CONSTRAINT phone_numbers_source_check CHECK ((source = ANY (ARRAY['provisioned'::text, 'registered'::text]))),
    CONSTRAINT phone_numbers_status_check CHECK ((status = ANY (ARRAY['active'::text, 'past_due'::text, 'releasing'::text, 'released'::text]))),
    CONSTRAINT phone_numbers_twilio_sid_check CHECK ((twilio_sid ~ '^PN[0-9a-fA-F]{32}$'::text)),
    CONSTRAINT phone_numbers_vapi_phone_number_id_check CHECK (((length(vapi_phone_number_id) >= 1) AND (length(vapi_phone_number_id) <= 200)))
);

ALTER TABLE ONLY phone_numbers
    ADD CONSTRAINT phone_numbers_pkey PRIMARY KEY (id);

CREATE UNIQUE INDEX phone_numbers_live_e164 ON phone_numbers USING btree (e164) WHERE (released_at IS NULL);

CREATE INDEX phone_numbers_org_created ON phone_numbers USING btree (org_id, created_at DESC);

CREATE INDEX phone_numbers_past_due_org ON phone_numbers USING btree (org_id) WHERE (status = 'past_due'::text);

CREATE INDEX phone_numbers_releasing ON phone_numbers USING btree (id) WHERE (status = 'releasing'::text);

CREATE INDEX phone_numbers_rent_due ON phone_numbers USING btree (paid_until, id) WHERE (status = ANY (ARRAY['active'::text, 'past_due'::text]));

CREATE UNIQUE INDEX phone_numbers_live_vapi_id ON phone_numbers USING btree (vapi_phone_number_id) WHERE ((released_at IS NULL) AND (vapi_phone_number_id IS NOT NULL));

ALTER TABLE ONLY phone_numbers
    ADD CONSTRAINT phone_numbers_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;
