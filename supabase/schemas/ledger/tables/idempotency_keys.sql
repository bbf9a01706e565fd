-- table idempotency_keys
-- The first outcome of every idempotent HTTP operation, recorded in the transaction that
-- produced it, so "done" can never be recorded without the effect (failure mode 9).
--
-- Defined in 20261123000100_wallet_ledger.

CREATE TABLE idempotency_keys (
    org_id uuid NOT NULL,
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    outcome jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_fingerprint_check CHECK ((fingerprint ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT idempotency_keys_key_check CHECK ((key ~ '^[!-~]{1,255}$'::text)),
    CONSTRAINT idempotency_keys_scope_check CHECK ((scope = ANY (ARRAY['credit'::text, 'provision'::text, 'topup'::text, 'call'::text])))
);

ALTER TABLE ONLY idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (org_id, scope, key);

ALTER TABLE ONLY idempotency_keys
    ADD CONSTRAINT idempotency_keys_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
