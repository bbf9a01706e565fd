-- table stripe_charges
-- What Stripe said about each charge (cumulative refunds) and what the wallet took back so far.
--
-- Defined in 20261130001100_money_in.

CREATE TABLE stripe_charges (
    charge_id text NOT NULL,
    payment_intent_id text NOT NULL,
    currency text NOT NULL,
    refunded_seen bigint DEFAULT 0 NOT NULL,
    refunded_taken bigint DEFAULT 0 NOT NULL,
    CONSTRAINT stripe_charges_charge_id_check CHECK (((length(charge_id) >= 1) AND (length(charge_id) <= 255))),
    CONSTRAINT stripe_charges_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT stripe_charges_payment_intent_id_check CHECK (((length(payment_intent_id) >= 1) AND (length(payment_intent_id) <= 255))),
    CONSTRAINT stripe_charges_refunded_seen_check CHECK (((refunded_seen >= 0) AND (refunded_seen <= 100000000))),
    CONSTRAINT stripe_charges_refunded_taken_check CHECK (((refunded_taken >= 0) AND (refunded_taken <= 100000000))),
    CONSTRAINT stripe_charges_taken_le_seen CHECK ((refunded_taken <= refunded_seen))
);

ALTER TABLE ONLY stripe_charges
    ADD CONSTRAINT stripe_charges_pkey PRIMARY KEY (charge_id);

CREATE INDEX stripe_charges_by_payment ON stripe_charges USING btree (payment_intent_id);

ALTER TABLE stripe_charges ENABLE ROW LEVEL SECURITY;
