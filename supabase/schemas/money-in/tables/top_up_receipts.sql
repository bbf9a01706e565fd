-- table top_up_receipts
-- One receipt per paid top-up (CONTRACT §12), numbered R-000001, R-000002, … from receipt_counter
-- in the transaction that marks the top-up paid. The number is the primary key (never two top-ups
-- with one number); top_up_id is unique (never two numbers for one top-up). Top-ups paid before
-- 20261206210000_usage_and_receipts_tables were numbered by it, in the order they were credited,
-- without their card.
--
-- Defined in 20261206210000_usage_and_receipts_tables.

CREATE TABLE top_up_receipts (
    receipt_number bigint NOT NULL,
    top_up_id uuid NOT NULL,
    org_id uuid NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    -- When the payment was credited (the credit's transaction time: its ledger entry's created_at).
    paid_at timestamp with time zone NOT NULL,
    -- The card that paid, as Stripe describes it; null when Stripe could not be asked.
    card_brand text,
    card_last4 text,
    CONSTRAINT top_up_receipts_amount_check CHECK (((amount >= 1) AND (amount <= 100000000))),
    CONSTRAINT top_up_receipts_card_brand_check CHECK (((length(card_brand) >= 1) AND (length(card_brand) <= 50))),
    CONSTRAINT top_up_receipts_card_last4_check CHECK ((card_last4 ~ '^[0-9]{4}$'::text)),
    CONSTRAINT top_up_receipts_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT top_up_receipts_receipt_number_check CHECK ((receipt_number >= 1))
);

ALTER TABLE ONLY top_up_receipts
    ADD CONSTRAINT top_up_receipts_pkey PRIMARY KEY (receipt_number);

ALTER TABLE ONLY top_up_receipts
    ADD CONSTRAINT top_up_receipts_top_up_id_key UNIQUE (top_up_id);

ALTER TABLE ONLY top_up_receipts
    ADD CONSTRAINT top_up_receipts_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE ONLY top_up_receipts
    ADD CONSTRAINT top_up_receipts_top_up_id_fkey FOREIGN KEY (top_up_id) REFERENCES top_ups(id);

ALTER TABLE top_up_receipts ENABLE ROW LEVEL SECURITY;
