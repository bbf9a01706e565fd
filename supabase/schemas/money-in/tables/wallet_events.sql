-- table wallet_events
-- Customer-visible wallet events (GET /api/wallet/events), newest first by id. The number.*
-- types are the rented numbers' (issue 24): past due, reactivated by a paid rent, released.
--
-- Defined in 20261130001100_money_in, 20261206000150_number_rental_tables.

CREATE TABLE wallet_events (
    id bigint NOT NULL,
    org_id uuid NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    CONSTRAINT wallet_events_type_check CHECK ((type = ANY (ARRAY['balance.low'::text, 'balance.recovered'::text, 'auto_recharge.failed'::text, 'auto_recharge.disabled'::text, 'wallet.frozen'::text, 'wallet.unfrozen'::text, 'number.past_due'::text, 'number.reactivated'::text, 'number.released'::text])))
);

ALTER TABLE wallet_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME wallet_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY wallet_events
    ADD CONSTRAINT wallet_events_pkey PRIMARY KEY (id);

CREATE INDEX wallet_events_org_newest ON wallet_events USING btree (org_id, id DESC);

ALTER TABLE ONLY wallet_events
    ADD CONSTRAINT wallet_events_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE wallet_events ENABLE ROW LEVEL SECURITY;
