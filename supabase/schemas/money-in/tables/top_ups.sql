-- table top_ups
-- One row per top-up: a Checkout payment the customer makes, or an off-session auto-recharge.
--
-- Defined in 20261130001100_money_in; customer_id and payment_method_id added in
-- 20261207000000_money_outbox_schedules_recharges.

CREATE TABLE top_ups (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id uuid NOT NULL,
    source text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    checkout_session_id text,
    checkout_url text,
    payment_intent_id text,
    -- The one topup entry of this payment (unique: one credit per top-up).
    credit_entry_id bigint,
    failure_code text,
    failure_message text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    -- An auto-recharge: the Stripe customer and card it charges, fixed when claimed, so that a
    -- recharge sent again is the same request under the same idempotency key.
    customer_id text,
    payment_method_id text,
    CONSTRAINT top_ups_amount_check CHECK (((amount >= 1) AND (amount <= 100000000))),
    CONSTRAINT top_ups_checkout_session_id_check CHECK (((length(checkout_session_id) >= 1) AND (length(checkout_session_id) <= 255))),
    CONSTRAINT top_ups_checkout_url_check CHECK (((length(checkout_url) >= 1) AND (length(checkout_url) <= 2000))),
    CONSTRAINT top_ups_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT top_ups_customer_id_check CHECK (((length(customer_id) >= 1) AND (length(customer_id) <= 255))),
    CONSTRAINT top_ups_failure_code_check CHECK ((length(failure_code) <= 100)),
    CONSTRAINT top_ups_failure_message_check CHECK ((length(failure_message) <= 500)),
    CONSTRAINT top_ups_paid_is_credited CHECK (((status = 'paid'::text) = (credit_entry_id IS NOT NULL))),
    CONSTRAINT top_ups_payment_intent_id_check CHECK (((length(payment_intent_id) >= 1) AND (length(payment_intent_id) <= 255))),
    CONSTRAINT top_ups_payment_method_id_check CHECK (((length(payment_method_id) >= 1) AND (length(payment_method_id) <= 255))),
    CONSTRAINT top_ups_source_check CHECK ((source = ANY (ARRAY['checkout'::text, 'auto_recharge'::text]))),
    CONSTRAINT top_ups_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'paid'::text, 'failed'::text, 'expired'::text])))
);

ALTER TABLE ONLY top_ups
    ADD CONSTRAINT top_ups_checkout_session_id_key UNIQUE (checkout_session_id);

ALTER TABLE ONLY top_ups
    ADD CONSTRAINT top_ups_credit_entry_id_key UNIQUE (credit_entry_id);

ALTER TABLE ONLY top_ups
    ADD CONSTRAINT top_ups_payment_intent_id_key UNIQUE (payment_intent_id);

ALTER TABLE ONLY top_ups
    ADD CONSTRAINT top_ups_pkey PRIMARY KEY (id);

CREATE INDEX top_ups_org_newest ON top_ups USING btree (org_id, created_at DESC);

ALTER TABLE ONLY top_ups
    ADD CONSTRAINT top_ups_credit_entry_id_fkey FOREIGN KEY (credit_entry_id) REFERENCES ledger_entries(id);

ALTER TABLE ONLY top_ups
    ADD CONSTRAINT top_ups_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE top_ups ENABLE ROW LEVEL SECURITY;
