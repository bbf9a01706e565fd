-- table billing_clock
-- The service's billing clock (issue 24, CONTRACT §11): one row, how many seconds it runs ahead of
-- Postgres's now(). billing_now() reads it; rentals, grace periods and the daily spend day use
-- billing_now(), so every process (and every SQL function) agrees on the billing time. Only sandbox
-- mode moves it (billing_clock_advance, POST /api/admin/clock): forward only, at most ten years.
-- No row = no offset.
--
-- Defined in 20261206000150_number_rental_tables.

CREATE TABLE billing_clock (
    id boolean DEFAULT true NOT NULL,
    offset_seconds bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT billing_clock_offset_seconds_check CHECK (((offset_seconds >= 0) AND (offset_seconds <= 315576000))),
    CONSTRAINT billing_clock_one_row CHECK (id)
);

ALTER TABLE ONLY billing_clock
    ADD CONSTRAINT billing_clock_pkey PRIMARY KEY (id);

ALTER TABLE billing_clock ENABLE ROW LEVEL SECURITY;
