-- table provisioning_requests
-- Provisioning: the durable state machine of a phone-number purchase. The request row is written
-- in the same transaction as the debit (failure mode 12), every transition is conditional and
-- idempotent, `completed` and `refunded` are never left, and a refund is tied to its debit by the
-- ledger's unique reverses_entry_id (failure mode 10). Prices are passed in by the caller from
-- config.pricing: SQL holds no price (failure mode 5).
--
--   queued -> provisioning <-> retrying -> completed
--      \            \             \
--       `------------`-------------`--> failed -> refunded
--
-- Defined in 20261123000200_provisioning.

CREATE TABLE provisioning_requests (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    area_code text NOT NULL,
    country text NOT NULL,
    assistant_id text,
    status text DEFAULT 'queued'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer NOT NULL,
    phone_number text,
    twilio_sid text,
    vapi_phone_number_id text,
    -- Set before the first purchase / import request is sent: a request that never sent one
    -- cannot have bought anything, so its release step has nothing to look for.
    purchase_attempted boolean DEFAULT false NOT NULL,
    vapi_import_attempted boolean DEFAULT false NOT NULL,
    error text,
    charged bigint NOT NULL,
    debit_entry_id bigint NOT NULL,
    refund_entry_id bigint,
    refunded bigint DEFAULT 0 NOT NULL,
    currency text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    -- When the sweeper should look at this row next; now() for a new row, pushed back by
    -- provision_sweep_defer when the sweeper found nothing it could do (e.g. a live job).
    sweep_due_at timestamp with time zone DEFAULT now() NOT NULL,
    -- How many times the sweeper put the row off: the exponent of its backoff.
    sweep_deferrals integer DEFAULT 0 NOT NULL,
    CONSTRAINT provisioning_completed_has_number CHECK (((status <> 'completed'::text) OR ((phone_number IS NOT NULL) AND (twilio_sid IS NOT NULL)))),
    CONSTRAINT provisioning_refund_matches CHECK ((((status = 'refunded'::text) AND (refund_entry_id IS NOT NULL) AND (refunded = charged)) OR ((status <> 'refunded'::text) AND (refund_entry_id IS NULL) AND (refunded = 0)))),
    CONSTRAINT provisioning_requests_area_code_check CHECK ((area_code ~ '^[0-9]{3}$'::text)),
    CONSTRAINT provisioning_requests_assistant_id_check CHECK (((length(assistant_id) >= 1) AND (length(assistant_id) <= 200))),
    CONSTRAINT provisioning_requests_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT provisioning_requests_charged_check CHECK ((charged > 0)),
    CONSTRAINT provisioning_requests_country_check CHECK ((country ~ '^[A-Z]{2}$'::text)),
    CONSTRAINT provisioning_requests_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT provisioning_requests_error_check CHECK ((length(error) <= 1000)),
    CONSTRAINT provisioning_requests_idempotency_key_check CHECK ((idempotency_key ~ '^[!-~]{1,255}$'::text)),
    CONSTRAINT provisioning_requests_max_attempts_check CHECK (((max_attempts >= 1) AND (max_attempts <= 50))),
    CONSTRAINT provisioning_requests_phone_number_check CHECK ((phone_number ~ '^\+[1-9][0-9]{6,14}$'::text)),
    CONSTRAINT provisioning_requests_refunded_check CHECK ((refunded >= 0)),
    CONSTRAINT provisioning_requests_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'provisioning'::text, 'retrying'::text, 'completed'::text, 'failed'::text, 'refunded'::text]))),
    CONSTRAINT provisioning_requests_sweep_deferrals_check CHECK ((sweep_deferrals >= 0)),
    CONSTRAINT provisioning_requests_twilio_sid_check CHECK ((twilio_sid ~ '^PN[0-9a-fA-F]{32}$'::text)),
    CONSTRAINT provisioning_requests_vapi_phone_number_id_check CHECK (((length(vapi_phone_number_id) >= 1) AND (length(vapi_phone_number_id) <= 200)))
);

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_debit_entry_id_key UNIQUE (debit_entry_id);

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_key UNIQUE (org_id, idempotency_key);

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_pkey PRIMARY KEY (id);

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_refund_entry_id_key UNIQUE (refund_entry_id);

CREATE INDEX provisioning_requests_org_created ON provisioning_requests USING btree (org_id, created_at);

CREATE INDEX provisioning_requests_sweep_order ON provisioning_requests USING btree (sweep_due_at, id) WHERE (status = ANY (ARRAY['queued'::text, 'provisioning'::text, 'retrying'::text, 'failed'::text]));

CREATE INDEX provisioning_requests_unfinished ON provisioning_requests USING btree (updated_at) WHERE (status = ANY (ARRAY['queued'::text, 'provisioning'::text, 'retrying'::text, 'failed'::text]));

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_debit_entry_id_fkey FOREIGN KEY (debit_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE ONLY provisioning_requests
    ADD CONSTRAINT provisioning_requests_refund_entry_id_fkey FOREIGN KEY (refund_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE provisioning_requests ENABLE ROW LEVEL SECURITY;
