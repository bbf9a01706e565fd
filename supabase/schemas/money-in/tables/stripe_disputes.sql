-- table stripe_disputes
-- Each dispute: what Stripe said (flags only ever turn on) and the entries the wallet got.
-- Every dispute names its charge (a stripe_charges row, inserted with the dispute's first
-- event: 20261206000100_disputes_within_charge), whose row bounds what its disputes take.
--
-- Defined in 20261130001100_money_in, 20261206000100_disputes_within_charge.

CREATE TABLE stripe_disputes (
    dispute_id text NOT NULL,
    payment_intent_id text NOT NULL,
    charge_id text,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text NOT NULL,
    closed boolean DEFAULT false NOT NULL,
    withdrawn_seen boolean DEFAULT false NOT NULL,
    reinstated_seen boolean DEFAULT false NOT NULL,
    froze_wallet boolean DEFAULT false NOT NULL,
    withdrawn_entry_id bigint,
    reinstated_entry_id bigint,
    CONSTRAINT stripe_disputes_amount_check CHECK (((amount >= 1) AND (amount <= 100000000))),
    CONSTRAINT stripe_disputes_charge_id_check CHECK (((length(charge_id) >= 1) AND (length(charge_id) <= 255))),
    CONSTRAINT stripe_disputes_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT stripe_disputes_dispute_id_check CHECK (((length(dispute_id) >= 1) AND (length(dispute_id) <= 255))),
    CONSTRAINT stripe_disputes_payment_intent_id_check CHECK (((length(payment_intent_id) >= 1) AND (length(payment_intent_id) <= 255))),
    CONSTRAINT stripe_disputes_status_check CHECK (((length(status) >= 1) AND (length(status) <= 50)))
);

ALTER TABLE ONLY stripe_disputes
    ADD CONSTRAINT stripe_disputes_pkey PRIMARY KEY (dispute_id);

ALTER TABLE ONLY stripe_disputes
    ADD CONSTRAINT stripe_disputes_reinstated_entry_id_key UNIQUE (reinstated_entry_id);

ALTER TABLE ONLY stripe_disputes
    ADD CONSTRAINT stripe_disputes_withdrawn_entry_id_key UNIQUE (withdrawn_entry_id);

CREATE INDEX stripe_disputes_by_payment ON stripe_disputes USING btree (payment_intent_id);

ALTER TABLE ONLY stripe_disputes
    ADD CONSTRAINT stripe_disputes_charge_id_fkey FOREIGN KEY (charge_id) REFERENCES stripe_charges(charge_id);

ALTER TABLE ONLY stripe_disputes
    ADD CONSTRAINT stripe_disputes_reinstated_entry_id_fkey FOREIGN KEY (reinstated_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ONLY stripe_disputes
    ADD CONSTRAINT stripe_disputes_withdrawn_entry_id_fkey FOREIGN KEY (withdrawn_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE stripe_disputes ENABLE ROW LEVEL SECURITY;
