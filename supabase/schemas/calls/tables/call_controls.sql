-- table call_controls
-- A call's control URL is often the first thing we hear of a call after admitting it (Vapi sends
-- it on the in-progress status-update, milliseconds after our answer), before the gate's batched
-- record of the hold has reached Postgres. Kept on the calls row, it was dropped when that row did
-- not exist yet, and lived only in Redis: a Redis that lost its data then left a call out of money
-- that nothing could end (found by the chaos test). Its own table, keyed by call id, keeps it
-- whatever the order.
--
-- Defined in 20261130000700_call_controls.

CREATE TABLE call_controls (
    call_id text NOT NULL,
    -- Vapi's monitor.controlUrl: a secret (whoever holds it controls the call).
    control_url text NOT NULL,
    learned_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT call_controls_call_id_check CHECK (((length(call_id) >= 1) AND (length(call_id) <= 200))),
    CONSTRAINT call_controls_control_url_check CHECK (((length(control_url) >= 1) AND (length(control_url) <= 2000)))
);

ALTER TABLE ONLY call_controls
    ADD CONSTRAINT call_controls_pkey PRIMARY KEY (call_id);

ALTER TABLE call_controls ENABLE ROW LEVEL SECURITY;
