-- table money_outbox
-- The transactional outbox: work the movement asked for, picked up by the outbox relay.
-- A row is due while done_at is null, next_attempt_at has come and no lease (claimed_until) is
-- live. money_outbox_claim leases due rows and counts the attempt; the relay hands each to a
-- BullMQ job that only carries that attempt. An event delivery is done once queued
-- (money_outbox_done). A recharge row ("recharge wanted") stays due until its recharge has an
-- answer: auto_recharge_claim closes it when there is nothing to do (off, frozen, not needed, a
-- PaymentIntent already recorded) or moves it to the end of the cooldown; auto_recharge_submitted,
-- top_up_fail and stripe_payment_succeeded close it when its recharge has a PaymentIntent or a
-- counted failure; money_outbox_retry backs it off after a Stripe error. A lost job or a dead
-- worker only lets the lease lapse, and the relay claims the row again (issue 22, items 4 and 5).
--
-- retry_rent (issue 24): a credit landed on a wallet with a past-due number; at most one such row
-- waits (unclaimed) per organisation.
--
-- Defined in 20261130001100_money_in, 20261206000150_number_rental_tables (retry_rent); columns attempts .. sent_in_attempt, their constraints and
-- money_outbox_one_recharge added in 20261207000000_money_outbox_schedules_recharges.

CREATE TABLE money_outbox (
    id bigint NOT NULL,
    org_id uuid NOT NULL,
    task text NOT NULL,
    event_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    -- The lease: a claimed row is not claimed again before it lapses.
    claimed_until timestamp with time zone,
    done_at timestamp with time zone,
    -- Claims so far; a carrier names the attempt it carries (a stale one is told so).
    attempts integer DEFAULT 0 NOT NULL,
    -- Not claimed before then: a retry's backoff, or the end of a recharge cooldown.
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    -- Why the last attempt failed (a Stripe error's type and message; never a secret).
    last_error text,
    -- A recharge row: the recharge it started, and the attempt that last sent it to Stripe.
    top_up_id uuid,
    sent_in_attempt integer,
    CONSTRAINT money_outbox_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT money_outbox_event CHECK (((task = 'deliver_event'::text) = (event_id IS NOT NULL))),
    CONSTRAINT money_outbox_last_error_check CHECK ((length(last_error) <= 500)),
    CONSTRAINT money_outbox_recharge CHECK (((task = 'auto_recharge'::text) OR ((top_up_id IS NULL) AND (sent_in_attempt IS NULL)))),
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

-- At most one recharge request open per wallet (wallet_money_watch inserts on conflict do nothing).
CREATE UNIQUE INDEX money_outbox_one_recharge ON money_outbox USING btree (org_id) WHERE ((task = 'auto_recharge'::text) AND (done_at IS NULL));

ALTER TABLE ONLY money_outbox
    ADD CONSTRAINT money_outbox_event_id_fkey FOREIGN KEY (event_id) REFERENCES wallet_events(id);

ALTER TABLE ONLY money_outbox
    ADD CONSTRAINT money_outbox_org_id_fkey FOREIGN KEY (org_id) REFERENCES wallets(org_id);

ALTER TABLE ONLY money_outbox
    ADD CONSTRAINT money_outbox_top_up_id_fkey FOREIGN KEY (top_up_id) REFERENCES top_ups(id);

ALTER TABLE money_outbox ENABLE ROW LEVEL SECURITY;
