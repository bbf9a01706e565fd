-- table call_reports
-- End-of-call reports: the first one per call id is kept (the key is the call id within this
-- message type, failure mode 8), billed once, and re-enqueued by the sweeper until it is.
--
-- Defined in 20261123000300_calls.

CREATE TABLE call_reports (
    call_id text NOT NULL,
    -- Null when no organisation could be found (unknown number, no hold, no metadata).
    org_id uuid,
    started_at timestamp with time zone,
    ended_at timestamp with time zone,
    duration_seconds numeric,
    ended_reason text,
    source text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    charge_entry_id bigint,
    billed_at timestamp with time zone,
    CONSTRAINT call_reports_billed_together CHECK (((billed_at IS NULL) = (charge_entry_id IS NULL))),
    CONSTRAINT call_reports_call_id_check CHECK (((length(call_id) >= 1) AND (length(call_id) <= 200))),
    CONSTRAINT call_reports_duration_seconds_check CHECK (((duration_seconds >= (0)::numeric) AND (duration_seconds <= (1000000)::numeric))),
    CONSTRAINT call_reports_ended_reason_check CHECK ((length(ended_reason) <= 200)),
    CONSTRAINT call_reports_source_check CHECK ((source = ANY (ARRAY['webhook'::text, 'vapi_api'::text])))
);

ALTER TABLE ONLY call_reports
    ADD CONSTRAINT call_reports_pkey PRIMARY KEY (call_id);

CREATE INDEX call_reports_sweep_order ON call_reports USING btree (received_at, call_id) WHERE (billed_at IS NULL);

ALTER TABLE ONLY call_reports
    ADD CONSTRAINT call_reports_charge_entry_id_fkey FOREIGN KEY (charge_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ONLY call_reports
    ADD CONSTRAINT call_reports_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE call_reports ENABLE ROW LEVEL SECURITY;
