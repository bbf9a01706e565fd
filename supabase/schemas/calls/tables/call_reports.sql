-- table call_reports
-- End-of-call reports: the first one per call id is kept (the key is the call id within this
-- message type, failure mode 8), billed once, and re-enqueued by the sweeper until it is.
--
-- Defined in 20261123000300_calls; from_number, to_number, billed_seconds, billed_rate_per_minute and
-- index call_reports_charge_entry in 20261206210000_usage_and_receipts_tables.

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
    -- The caller's and the called number as the report gives them (E.164 or whatever Vapi sends).
    from_number text,
    to_number text,
    -- What the charge was computed from (call_settle): exact seconds, and the rate it used. Reports
    -- billed before 20261206210000_usage_and_receipts_tables have seconds (from the charge's ledger
    -- reference) but no rate.
    billed_seconds numeric,
    billed_rate_per_minute bigint,
    -- Charged with no calls row (call_settle: admitted in fail-open mode, or its Redis-path hold
    -- record never reached Postgres): the calls list lists it from here (calls_list).
    unrecorded boolean DEFAULT false NOT NULL,
    CONSTRAINT call_reports_billed_rate_per_minute_check CHECK ((billed_rate_per_minute >= 1)),
    CONSTRAINT call_reports_billed_seconds_check CHECK ((billed_seconds >= (0)::numeric)),
    CONSTRAINT call_reports_billed_together CHECK (((billed_at IS NULL) = (charge_entry_id IS NULL))),
    CONSTRAINT call_reports_call_id_check CHECK (((length(call_id) >= 1) AND (length(call_id) <= 200))),
    CONSTRAINT call_reports_duration_seconds_check CHECK (((duration_seconds >= (0)::numeric) AND (duration_seconds <= (1000000)::numeric))),
    CONSTRAINT call_reports_ended_reason_check CHECK ((length(ended_reason) <= 200)),
    CONSTRAINT call_reports_from_number_check CHECK (((length(from_number) >= 1) AND (length(from_number) <= 40))),
    CONSTRAINT call_reports_source_check CHECK ((source = ANY (ARRAY['webhook'::text, 'vapi_api'::text]))),
    CONSTRAINT call_reports_to_number_check CHECK (((length(to_number) >= 1) AND (length(to_number) <= 40)))
);

ALTER TABLE ONLY call_reports
    ADD CONSTRAINT call_reports_pkey PRIMARY KEY (call_id);

-- A report by its charge: the seconds of a day's call charges (wallet_usage).
CREATE INDEX call_reports_charge_entry ON call_reports USING btree (charge_entry_id) WHERE (charge_entry_id IS NOT NULL);

-- An organisation's charged calls with no calls row, newest first (calls_list reads only these).
CREATE INDEX call_reports_unrecorded ON call_reports USING btree (org_id, received_at, call_id) WHERE unrecorded;

CREATE INDEX call_reports_sweep_order ON call_reports USING btree (received_at, call_id) WHERE (billed_at IS NULL);

ALTER TABLE ONLY call_reports
    ADD CONSTRAINT call_reports_charge_entry_id_fkey FOREIGN KEY (charge_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ONLY call_reports
    ADD CONSTRAINT call_reports_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE call_reports ENABLE ROW LEVEL SECURITY;
