-- table ledger_entries
-- kind phone_number_rent (issue 24): one month of one number, a debit; its idempotency key is
-- rent:<number id>:<start of the month it pays>, so the unique key below charges a month once.
--
-- Defined in 20261123000100_wallet_ledger, 20261206000150_number_rental_tables; index
-- ledger_entries_org_created in 20261206210000_usage_and_receipts_tables.

CREATE TABLE ledger_entries (
    id bigint NOT NULL,
    org_id uuid NOT NULL,
    kind text NOT NULL,
    amount bigint NOT NULL,
    balance_before bigint NOT NULL,
    balance_after bigint NOT NULL,
    reference text,
    idempotency_key text NOT NULL,
    reverses_entry_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT ledger_entries_arithmetic CHECK ((balance_after = (balance_before + amount))),
    CONSTRAINT ledger_entries_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 300))),
    CONSTRAINT ledger_entries_kind_sign CHECK ((((kind = 'topup'::text) AND ((amount >= 1) AND (amount <= 100000000)) AND (reverses_entry_id IS NULL)) OR ((kind = 'phone_number'::text) AND (amount < 0) AND (reverses_entry_id IS NULL)) OR ((kind = 'phone_number_refund'::text) AND (amount > 0) AND (reverses_entry_id IS NOT NULL)) OR ((kind = 'phone_number_rent'::text) AND (amount < 0) AND (reverses_entry_id IS NULL)) OR ((kind = 'call'::text) AND (amount <= 0) AND (reverses_entry_id IS NULL)) OR ((kind = 'topup_refund'::text) AND ((amount >= '-100000000'::integer) AND (amount <= '-1'::integer)) AND (reverses_entry_id IS NULL)) OR ((kind = 'dispute'::text) AND ((amount >= '-100000000'::integer) AND (amount <= '-1'::integer)) AND (reverses_entry_id IS NULL)) OR ((kind = 'dispute_reversal'::text) AND ((amount >= 1) AND (amount <= 100000000)) AND (reverses_entry_id IS NOT NULL)))),
    CONSTRAINT ledger_entries_reference_check CHECK ((length(reference) <= 500))
);

ALTER TABLE ledger_entries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME ledger_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY ledger_entries
    ADD CONSTRAINT ledger_entries_idempotency_key UNIQUE (org_id, idempotency_key);

ALTER TABLE ONLY ledger_entries
    ADD CONSTRAINT ledger_entries_one_refund_per_debit UNIQUE (reverses_entry_id);

ALTER TABLE ONLY ledger_entries
    ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY (id);

CREATE INDEX ledger_entries_org_newest ON ledger_entries USING btree (org_id, id DESC);

-- A wallet's entries by time: usage days and monthly statements (20261206210000_usage_and_receipts_tables).
CREATE INDEX ledger_entries_org_created ON ledger_entries USING btree (org_id, created_at);

CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();

CREATE TRIGGER ledger_entries_no_update BEFORE DELETE OR UPDATE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

ALTER TABLE ONLY ledger_entries
    ADD CONSTRAINT ledger_entries_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE ONLY ledger_entries
    ADD CONSTRAINT ledger_entries_reverses_entry_id_fkey FOREIGN KEY (reverses_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ledger_entries ENABLE ROW LEVEL SECURITY;
