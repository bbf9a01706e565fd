-- money_outbox_schedules_recharges (issue 22, items 4 and 5): the outbox row that asks for a
-- recharge stays due in Postgres until that recharge has an answer, instead of being marked done
-- the moment its BullMQ job was queued. Before, a job lost from Redis left `recharge_wanted` set
-- for good (the watch never asks while it is), and a Stripe outage longer than the job's own
-- retries left a recharge in flight with no PaymentIntent for good (the watch never asks while one
-- is in flight, and the resubmit was reachable only from a job that no longer existed).
--
-- Written by hand (a table change); the functions that use these columns follow in the next
-- migration, written by `npm run db:migration`. supabase/schemas/money-in/tables/money_outbox.sql
-- says the same.
--
-- money_outbox gains, for every row (an event delivery too):
--   attempts         claims so far; the relay's claim adds one, and a carrier (a job) names the
--                    attempt it carries, so a stale carrier is told so
--   next_attempt_at  not claimed before then: a retry's backoff, or the end of a cooldown
--   last_error       why the last attempt failed (no secrets: a Stripe error type and message)
-- and, for a recharge row:
--   top_up_id        the recharge it started (the row is answered when that recharge is)
--   sent_in_attempt  the attempt that last sent it to Stripe (one send per attempt)
-- `claimed_until` stays the lease: a claimed row is not claimed again before it lapses.
--
-- top_ups gains customer_id and payment_method_id: the Stripe customer and card an auto-recharge
-- charges, fixed when it is claimed. A recharge sent again must be the same request under the same
-- idempotency key (Stripe answers another body under a used key with an idempotency_error), even
-- if a new card was saved in the meantime.

alter table money_outbox
  add column attempts integer default 0 not null,
  add column next_attempt_at timestamp with time zone default now() not null,
  add column last_error text,
  add column top_up_id uuid,
  add column sent_in_attempt integer;

alter table money_outbox
  add constraint money_outbox_attempts_check check (attempts >= 0),
  add constraint money_outbox_last_error_check check (length(last_error) <= 500),
  add constraint money_outbox_recharge check (task = 'auto_recharge' or (top_up_id is null and sent_in_attempt is null)),
  add constraint money_outbox_top_up_id_fkey foreign key (top_up_id) references top_ups(id);

alter table top_ups
  add column customer_id text,
  add column payment_method_id text;

alter table top_ups
  add constraint top_ups_customer_id_check check ((length(customer_id) >= 1) and (length(customer_id) <= 255)),
  add constraint top_ups_payment_method_id_check check ((length(payment_method_id) >= 1) and (length(payment_method_id) <= 255));

-- At most one recharge request open per wallet. The old relay marked rows done as it queued them,
-- so two open at once could only be a row that was about to be marked done: keep the newest.
update money_outbox o
   set done_at = now()
 where o.task = 'auto_recharge' and o.done_at is null
   and exists (select 1 from money_outbox n
                where n.org_id = o.org_id and n.task = 'auto_recharge' and n.done_at is null and n.id > o.id);

create unique index money_outbox_one_recharge on money_outbox using btree (org_id)
  where ((task = 'auto_recharge'::text) and (done_at is null));

-- Wallets the old relay stranded: a recharge wanted with its row already done (its job lost), or
-- one in flight that Stripe never acknowledged (no PaymentIntent). Each gets a row due now; the
-- one in flight is sent again under its own Stripe idempotency key (auto_recharge_claim: resume).
insert into money_outbox (org_id, task, top_up_id)
select s.org_id, 'auto_recharge', t.id
  from wallet_money_settings s
  left join top_ups t on t.id = s.recharge_in_flight and t.status = 'pending' and t.payment_intent_id is null
 where (s.recharge_wanted or t.id is not null)
   and not exists (select 1 from money_outbox o
                    where o.org_id = s.org_id and o.task = 'auto_recharge' and o.done_at is null);

-- recharge_wanted now means exactly: this wallet has an open recharge row.
update wallet_money_settings s
   set recharge_wanted = true, updated_at = now()
 where not s.recharge_wanted
   and exists (select 1 from money_outbox o where o.org_id = s.org_id and o.task = 'auto_recharge' and o.done_at is null);
