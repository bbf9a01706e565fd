-- table wallet_money_settings
-- Per-wallet money-in settings: the Stripe customer and saved card, auto-recharge, alerts.
--
-- Defined in 20261130001100_money_in.

CREATE TABLE wallet_money_settings (
    org_id uuid NOT NULL,
    stripe_customer_id text,
    payment_method_id text,
    payment_method_brand text,
    payment_method_last4 text,
    alert_thresholds bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    -- Thresholds at or below which `available` now is (a balance.low was sent; re-armed above).
    alerts_low bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    webhook_url text,
    signing_secret text,
    recharge_enabled boolean DEFAULT false NOT NULL,
    recharge_threshold bigint DEFAULT 0 NOT NULL,
    recharge_amount bigint DEFAULT 0 NOT NULL,
    recharge_failures integer DEFAULT 0 NOT NULL,
    -- An outbox row asking for a recharge is open (so a burst of debits asks once): set with the
    -- row, cleared when the row is closed (its recharge answered, or nothing to do). Since
    -- 20261207000000 the row stays open while its recharge has no PaymentIntent.
    recharge_wanted boolean DEFAULT false NOT NULL,
    -- The one recharge in flight (failure mode 33), and when the last one was started (cooldown).
    recharge_in_flight uuid,
    recharge_last_attempt_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT wallet_money_settings_alert_thresholds_check CHECK ((cardinality(alert_thresholds) <= 5)),
    CONSTRAINT wallet_money_settings_payment_method_brand_check CHECK (((length(payment_method_brand) >= 1) AND (length(payment_method_brand) <= 50))),
    CONSTRAINT wallet_money_settings_payment_method_id_check CHECK (((length(payment_method_id) >= 1) AND (length(payment_method_id) <= 255))),
    CONSTRAINT wallet_money_settings_payment_method_last4_check CHECK ((payment_method_last4 ~ '^[0-9]{4}$'::text)),
    CONSTRAINT wallet_money_settings_recharge CHECK (((NOT recharge_enabled) OR ((recharge_amount >= 1) AND (payment_method_id IS NOT NULL)))),
    CONSTRAINT wallet_money_settings_recharge_amount_check CHECK (((recharge_amount >= 0) AND (recharge_amount <= 100000000))),
    CONSTRAINT wallet_money_settings_recharge_failures_check CHECK ((recharge_failures >= 0)),
    CONSTRAINT wallet_money_settings_recharge_threshold_check CHECK (((recharge_threshold >= 0) AND (recharge_threshold <= 100000000))),
    CONSTRAINT wallet_money_settings_signing_secret_check CHECK (((length(signing_secret) >= 32) AND (length(signing_secret) <= 200))),
    CONSTRAINT wallet_money_settings_stripe_customer_id_check CHECK (((length(stripe_customer_id) >= 1) AND (length(stripe_customer_id) <= 255))),
    CONSTRAINT wallet_money_settings_webhook_url_check CHECK (((length(webhook_url) >= 1) AND (length(webhook_url) <= 2000)))
);

ALTER TABLE ONLY wallet_money_settings
    ADD CONSTRAINT wallet_money_settings_pkey PRIMARY KEY (org_id);

ALTER TABLE ONLY wallet_money_settings
    ADD CONSTRAINT wallet_money_settings_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE ONLY wallet_money_settings
    ADD CONSTRAINT wallet_money_settings_recharge_in_flight_fkey FOREIGN KEY (recharge_in_flight) REFERENCES top_ups(id);

ALTER TABLE wallet_money_settings ENABLE ROW LEVEL SECURITY;
