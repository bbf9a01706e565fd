-- table wallets
--
-- (from 20261123000100_wallet_ledger)
-- Wallet ledger: organisations, wallets, the append-only ledger, HTTP idempotency records,
-- phone numbers, and the money functions. Every money movement goes through ledger_post(),
-- which locks the wallet row, so one organisation's movements are serialised and each
-- balance change is written in the same statement group as its ledger entry.
--
-- Defined in 20261123000100_wallet_ledger.

CREATE TABLE wallets (
    org_id uuid NOT NULL,
    currency text NOT NULL,
    -- Minor units. May go below zero only through call charges (the call happened).
    balance bigint DEFAULT 0 NOT NULL,
    -- How far below zero call charges are expected to go; charges beyond it are still recorded
    -- and reported (failure mode 4). New calls are refused long before, by CALL_MIN_BALANCE.
    debt_limit bigint DEFAULT 0 NOT NULL,
    -- Grows with every change; the Redis cache only ever stores a newer version.
    version bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    frozen boolean DEFAULT false NOT NULL,
    frozen_reason text,
    -- The UTC day whose spend spend_today holds (call charges, number purchases, less refunds of
    -- purchases made that day). Holds of calls in progress are added by the readers.
    spend_day date,
    spend_today bigint DEFAULT 0 NOT NULL,
    -- Operators' limits; null = no limit. Bounds as in api/routes/admin-org-limits.ts.
    max_concurrent_calls integer,
    daily_spend_limit bigint,
    max_call_seconds integer,
    max_numbers_per_day integer,
    frozen_at timestamp with time zone,
    frozen_source text,
    CONSTRAINT wallets_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT wallets_daily_spend_limit_check CHECK (((daily_spend_limit >= 0) AND (daily_spend_limit <= 100000000))),
    CONSTRAINT wallets_debt_limit_check CHECK ((debt_limit >= 0)),
    CONSTRAINT wallets_frozen_reason_check CHECK (((frozen_reason IS NULL) OR ((length(frozen_reason) >= 1) AND (length(frozen_reason) <= 500)))),
    CONSTRAINT wallets_frozen_source_check CHECK ((length(frozen_source) <= 100)),
    CONSTRAINT wallets_max_call_seconds_check CHECK (((max_call_seconds >= 10) AND (max_call_seconds <= 43200))),
    CONSTRAINT wallets_max_concurrent_calls_check CHECK (((max_concurrent_calls >= 0) AND (max_concurrent_calls <= 10000))),
    CONSTRAINT wallets_max_numbers_per_day_check CHECK (((max_numbers_per_day >= 0) AND (max_numbers_per_day <= 1000))),
    CONSTRAINT wallets_version_check CHECK ((version >= 0))
);

ALTER TABLE ONLY wallets
    ADD CONSTRAINT wallets_pkey PRIMARY KEY (org_id);

ALTER TABLE ONLY wallets
    ADD CONSTRAINT wallets_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations(id);

ALTER TABLE wallets ENABLE ROW LEVEL SECURITY;
