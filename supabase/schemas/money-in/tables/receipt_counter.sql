-- table receipt_counter
-- The receipt series (CONTRACT §12): one row, the last receipt number issued. A Postgres sequence
-- is not gap-free (a rolled-back transaction burns its number); this row is updated under its row
-- lock in the transaction that marks a top-up paid (top_up_receipt_issue, called last by
-- stripe_payment_succeeded), so a rollback gives the number back and the series has no gap.
--
-- Defined in 20261206210000_usage_and_receipts_tables.

CREATE TABLE receipt_counter (
    singleton boolean DEFAULT true NOT NULL,
    last_number bigint NOT NULL,
    CONSTRAINT receipt_counter_last_number_check CHECK ((last_number >= 1)),
    CONSTRAINT receipt_counter_singleton_check CHECK (singleton)
);

ALTER TABLE ONLY receipt_counter
    ADD CONSTRAINT receipt_counter_pkey PRIMARY KEY (singleton);

ALTER TABLE receipt_counter ENABLE ROW LEVEL SECURITY;
