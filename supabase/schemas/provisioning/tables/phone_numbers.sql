-- table phone_numbers
-- Numbers whose calls are gated: bought by provisioning or registered by an operator.
--
-- Defined in 20261123000100_wallet_ledger.

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
    CONSTRAINT phone_numbers_assistant_id_check CHECK (((length(assistant_id) >= 1) AND (length(assistant_id) <= 200))),
    CONSTRAINT phone_numbers_e164_check CHECK ((e164 ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT phone_numbers_source_check CHECK ((source = ANY (ARRAY['provisioned'::text, 'registered'::text]))),
    CONSTRAINT phone_numbers_twilio_sid_check CHECK ((twilio_sid ~ '^PN[0-9a-fA-F]{32}$'::text)),
    CONSTRAINT phone_numbers_vapi_phone_number_id_check CHECK (((length(vapi_phone_number_id) >= 1) AND (length(vapi_phone_number_id) <= 200)))
);

ALTER TABLE ONLY phone_numbers
    ADD CONSTRAINT phone_numbers_pkey PRIMARY KEY (id);

CREATE UNIQUE INDEX phone_numbers_live_e164 ON phone_numbers USING btree (e164) WHERE (released_at IS NULL);

CREATE UNIQUE INDEX phone_numbers_live_vapi_id ON phone_numbers USING btree (vapi_phone_number_id) WHERE ((released_at IS NULL) AND (vapi_phone_number_id IS NOT NULL));

ALTER TABLE ONLY phone_numbers
    ADD CONSTRAINT phone_numbers_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;
