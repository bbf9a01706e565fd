-- table calls
-- One row per call that passed the gate. The hold is what the call may still cost; it ends with
-- the call's status-update "ended", its billing, or its expiry (hold_expires_at).
--
-- (from 20261123000300_calls)
-- Calls: the durable side of the call gate. Holds of calls in progress (one row per Vapi call
-- id), end-of-call reports (one per call id), and the functions the gate, the billing worker and
-- the sweeper use. Redis keeps the hot copy of the holds; this table is what the Postgres
-- fallback decides on and what the sweeper settles from (docs/call-gate.md).
--
-- Defined in 20261123000300_calls; hot_released_at and calls_hot_release_due in
-- 20261206203500_calls_hot_release.

CREATE TABLE calls (
    call_id text NOT NULL,
    org_id uuid NOT NULL,
    hold_state text DEFAULT 'held'::text NOT NULL,
    hold_amount bigint NOT NULL,
    max_duration_seconds integer NOT NULL,
    hold_expires_at timestamp with time zone NOT NULL,
    admitted_path text NOT NULL,
    release_cause text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    released_at timestamp with time zone,
    -- The call's charge, once billed (from its report or by the sweeper).
    charge_entry_id bigint,
    settled_by text,
    settled_at timestamp with time zone,
    -- metered: the hold is one slice, renewed while the call lasts; full: the whole maxDuration.
    hold_policy text DEFAULT 'full'::text NOT NULL,
    -- When the gate admitted the call (the Redis path records holds after answering: created_at is
    -- when the row was written, admitted_at when the call began to cost).
    admitted_at timestamp with time zone DEFAULT now() NOT NULL,
    -- The most the hold may grow to: the cost of the call's max_duration_seconds.
    hold_cap bigint,
    -- Seconds of call, counted from admitted_at, that the hold pays for; and slices granted so far.
    held_seconds integer,
    slices integer DEFAULT 1 NOT NULL,
    -- When the call's status-update "ended" arrived (the hold then shrinks to the time used).
    ended_at timestamp with time zone,
    -- The sweeper's backoff: a call it could not finish is not looked at again before this time.
    next_sweep_at timestamp with time zone,
    -- How many times the sweeper has deferred this call: the exponent of its backoff.
    sweep_deferrals integer DEFAULT 0 NOT NULL,
    -- When Redis was last seen with this settled call's entry no longer counting (released, or
    -- gone): null while the Redis copy of a settled call's hold may still stand. Set by
    -- call_hot_released; the call sweeper releases the entries of the rows still null
    -- (calls_due_for_hot_release). Column and index: 20261206203500_calls_hot_release; the
    -- functions: 20261206203711_settled_holds_released.
    hot_released_at timestamp with time zone,
    -- The rate fixed at the call's admission (CONTRACT §10): its holds, maxDurationSeconds,
    -- renewals, "ended" resize and charge use it. Null on rows written before
    -- 20261207001000_call_rates_and_outbound_calls: CALL_RATE_PER_MINUTE, no connect fee, no
    -- minimum, increments of 1 s, as they were admitted.
    rate_prefix text,
    rate_per_minute bigint,
    connect_fee bigint,
    minimum_seconds integer,
    increment_seconds integer,
    CONSTRAINT calls_admitted_path_check CHECK ((admitted_path = ANY (ARRAY['cache'::text, 'database_fallback'::text]))),
    CONSTRAINT calls_call_id_check CHECK (((length(call_id) >= 1) AND (length(call_id) <= 200))),
    CONSTRAINT calls_held_seconds_check CHECK (((held_seconds >= 0) AND (held_seconds <= 86400))),
    CONSTRAINT calls_hold_amount_check CHECK ((hold_amount >= 0)),
    CONSTRAINT calls_hold_cap_check CHECK ((hold_cap >= 0)),
    CONSTRAINT calls_hold_policy_check CHECK ((hold_policy = ANY (ARRAY['metered'::text, 'full'::text]))),
    CONSTRAINT calls_hold_state_check CHECK ((hold_state = ANY (ARRAY['held'::text, 'released'::text]))),
    CONSTRAINT calls_max_duration_seconds_check CHECK (((max_duration_seconds >= 10) AND (max_duration_seconds <= 43200))),
    CONSTRAINT calls_release_cause_check CHECK ((length(release_cause) <= 100)),
    CONSTRAINT calls_released_has_time CHECK (((hold_state = 'released'::text) = (released_at IS NOT NULL))),
    CONSTRAINT calls_settled_by_check CHECK ((settled_by = ANY (ARRAY['report'::text, 'sweeper'::text, 'not_found'::text]))),
    CONSTRAINT calls_slices_check CHECK (((slices >= 1) AND (slices <= 100000))),
    CONSTRAINT calls_sweep_deferrals_check CHECK ((sweep_deferrals >= 0)),
    CONSTRAINT calls_rate_check CHECK (((rate_per_minute IS NULL) OR ((rate_per_minute >= 1) AND (connect_fee >= 0) AND (minimum_seconds >= 0) AND (increment_seconds >= 1))))
);

ALTER TABLE ONLY calls
    ADD CONSTRAINT calls_pkey PRIMARY KEY (call_id);

-- An organisation's calls newest first (calls_list; 20261206210000_usage_and_receipts_tables).
CREATE INDEX calls_org_admitted ON calls USING btree (org_id, admitted_at, call_id);

CREATE INDEX calls_open_by_org ON calls USING btree (org_id) WHERE (hold_state = 'held'::text);

CREATE INDEX calls_sweep_order ON calls USING btree (hold_expires_at, call_id) WHERE (settled_at IS NULL);

CREATE INDEX calls_hot_release_due ON calls USING btree (hold_expires_at, call_id) WHERE ((settled_at IS NOT NULL) AND (hot_released_at IS NULL));

ALTER TABLE ONLY calls
    ADD CONSTRAINT calls_charge_entry_id_fkey FOREIGN KEY (charge_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ONLY calls
    ADD CONSTRAINT calls_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
