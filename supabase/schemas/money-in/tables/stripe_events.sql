-- table stripe_events
-- Every Stripe event processed, recorded in the transaction of its effect.
--
-- (from 20261130001100_money_in)
-- The rules this file keeps:
--  * every Stripe event id is recorded (stripe_events) in the transaction of its effect, so a
--    replay changes nothing; every money effect is keyed by the Stripe object it comes from
--    (ledger idempotency keys topup:pi:<payment intent>, topup_refund:<charge>:<cumulative>,
--    dispute:<dispute>, and the unique reverses_entry_id of a dispute_reversal), so two events
--    describing one payment credit it once (failure modes 31, 32);
--  * a refund or dispute that arrives before its payment was credited is kept and applied when
--    the credit lands (stripe_reconcile_payment), never dropped and never credited on its own;
--  * the auto-recharge and alert thresholds are evaluated inside the money movement, under the
--    wallet row lock, against the live available amount (balance - holds): "recharge wanted" and
--    the balance.* events go to an outbox in the same transaction (failure modes 33, 34).
--
-- Defined in 20261130001100_money_in.

CREATE TABLE stripe_events (
    event_id text NOT NULL,
    type text NOT NULL,
    outcome text NOT NULL,
    org_id uuid,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT stripe_events_event_id_check CHECK (((length(event_id) >= 1) AND (length(event_id) <= 255))),
    CONSTRAINT stripe_events_outcome_check CHECK (((length(outcome) >= 1) AND (length(outcome) <= 100))),
    CONSTRAINT stripe_events_type_check CHECK (((length(type) >= 1) AND (length(type) <= 100)))
);

ALTER TABLE ONLY stripe_events
    ADD CONSTRAINT stripe_events_pkey PRIMARY KEY (event_id);

ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
