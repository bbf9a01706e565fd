-- table money_outbox
-- The transactional outbox: work the movement asked for, picked up by the outbox relay.
-- retry_rent (issue 24): a credit landed on a wallet with a past-due number; at most one such row
-- waits (unclaimed) per organisation.
--
-- Defined in 20261130001100_money_in, 20261206000100_number_rental_tables.

CREATE TABLE money_outbox (
    id bigint NOT NULL,
    org_id uuid NOT NULL,
    task text NOT NULL,
    event_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    claimed_until timestamp with time zone,
    done_at timestamp with time zone,
    CONSTRAINT money_outbox_event CHECK (((task = 'deliver_event'::text) = (event_id IS NOT NULL))),
    CONSTRAINT money_outbox_task_check CHECK ((task = ANY (ARRAY['deliver_event'::text, 'auto_recharge'::text, 'retry_rent'::text])))
);

ALTER TABLE money_outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME money_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY money_outbox
    ADD CONSTRAINT money_outbox_pkey PRIMARY KEY (id);

CREATE UNIQUE INDEX money_outbox_one_rent_retry ON money_outbox USING btree (org_id) WHERE ((task = 'retry_rent'::text) AND (done_at IS NULL) AND (claimed_until IS NULL));

CREATE INDEX money_outbox_pending ON money_outbox USING btree (id) WHERE (done_at IS NULL);

ALTER TABLE ONLY money_outbox
    ADD CONSTRAINT money_outbox_event_id_fkey FOREIGN KEY (event_id) REFERENCES wallet_events(id);

ALTER TABLE ONLY money_outbox
    ADD CONSTRAINT money_outbox_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE money_outbox ENABLE ROW LEVEL SECURITY;
