-- table stripe_charges
-- What Stripe said about each charge (cumulative refunds) and what the wallet took back so far.
-- Since 20261206000100_disputes_within_charge also its amount and what its disputes hold: a
-- charge has one row whichever of its refunds and disputes came first (every dispute names its
-- charge, stripe_disputes_charge_id_fkey), and the money its disputes took and did not give back
-- (dispute_taken) never exceeds its amount (stripe_charges_disputes_within_amount): Stripe has one
-- dispute per charge, and a second dispute id for the same charge never takes the money twice.
--
-- Defined in 20261130001100_money_in, 20261206000100_disputes_within_charge.

CREATE TABLE stripe_charges (
    charge_id text NOT NULL,
    payment_intent_id text NOT NULL,
    currency text NOT NULL,
    refunded_seen bigint DEFAULT 0 NOT NULL,
    refunded_taken bigint DEFAULT 0 NOT NULL,
    -- The charge's amount: the amount of the payment it paid (a top-up is one PaymentIntent paid
    -- by one charge), set by stripe_reconcile_payment once the payment is credited; null before.
    amount bigint,
    -- Σ amount of this charge's disputes whose funds the wallet gave up and did not get back
    -- (a dispute entry not yet reversed), kept under this row's lock by stripe_reconcile_payment.
    dispute_taken bigint DEFAULT 0 NOT NULL,
    CONSTRAINT stripe_charges_charge_id_check CHECK (((length(charge_id) >= 1) AND (length(charge_id) <= 255))),
    CONSTRAINT stripe_charges_amount_check CHECK (((amount >= 1) AND (amount <= 100000000))),
    CONSTRAINT stripe_charges_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT stripe_charges_payment_intent_id_check CHECK (((length(payment_intent_id) >= 1) AND (length(payment_intent_id) <= 255))),
    CONSTRAINT stripe_charges_refunded_seen_check CHECK (((refunded_seen >= 0) AND (refunded_seen <= 100000000))),
    CONSTRAINT stripe_charges_refunded_taken_check CHECK (((refunded_taken >= 0) AND (refunded_taken <= 100000000))),
    CONSTRAINT stripe_charges_disputes_within_amount CHECK (((dispute_taken >= 0) AND ((dispute_taken = 0) OR ((amount IS NOT NULL) AND (dispute_taken <= amount))))),
    CONSTRAINT stripe_charges_taken_le_seen CHECK ((refunded_taken <= refunded_seen))
);

ALTER TABLE ONLY stripe_charges
    ADD CONSTRAINT stripe_charges_pkey PRIMARY KEY (charge_id);

CREATE INDEX stripe_charges_by_payment ON stripe_charges USING btree (payment_intent_id);

ALTER TABLE stripe_charges ENABLE ROW LEVEL SECURITY;
