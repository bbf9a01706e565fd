-- Monthly number rental (issue 24, CONTRACT §11): the tables. The functions that use them come in
-- the next migration (written by `npm run db:migration`); this one changes only what holds data.
--
-- billing_clock      one row: how far the service's billing clock runs ahead of Postgres's now()
--                    (sandbox mode only moves it: POST /api/admin/clock). billing_now() reads it;
--                    rentals, grace periods and the daily spend day all use billing_now(), so every
--                    process and every SQL function agree on the time without asking each other.
-- phone_numbers      each rented number's terms: status (active → past_due → active | releasing →
--                    released), the anniversary's anchor (the purchase time on the billing clock),
--                    how many months are paid and until when, since when it is past due, and why
--                    it was released. Registered numbers (source 'registered') are not rented:
--                    their rent columns stay null.
-- ledger_entries     a new kind, phone_number_rent: a debit (amount < 0) of one month of one
--                    number; its idempotency key names the number and the period it pays.
-- wallet_events      number.past_due, number.reactivated, number.released (CONTRACT §7 and §11).
-- money_outbox       retry_rent: a credit landed on a wallet with a past-due number, so its rent
--                    is tried again now (the relay queues the rental job). At most one waiting row
--                    per organisation: a unique index over the rows not yet claimed.

create table billing_clock (
  id             boolean primary key default true,
  offset_seconds bigint not null default 0,
  updated_at     timestamptz not null default now(),
  -- One row, and only forward within ten years (what billing_clock_advance allows).
  constraint billing_clock_one_row check (id),
  constraint billing_clock_offset_seconds_check check (offset_seconds >= 0 and offset_seconds <= 315576000)
);
alter table billing_clock enable row level security;
revoke all on table billing_clock from public, anon, authenticated, service_role;

-- Numbers: the columns first, then the rows they describe, then the rules (so no rule is ever
-- checked against a row that has not been filled in yet).
alter table phone_numbers
  add column status text not null default 'active',
  add column rent_anchor timestamptz,
  add column paid_months integer,
  add column paid_until timestamptz,
  add column past_due_since timestamptz,
  add column release_reason text;

update phone_numbers set status = 'released' where released_at is not null;

-- Numbers bought before this change paid their first month and nothing since: none is charged for
-- months already past. Each keeps its purchase's anniversary, and its first rent falls on the
-- first anniversary after this migration (the month running now counts as paid).
update phone_numbers p
   set rent_anchor = p.created_at,
       paid_months = (select min(m) from generate_series(1, 1200) m
                       where ((p.created_at at time zone 'utc') + make_interval(months => m)) at time zone 'utc' > now())
 where p.source = 'provisioned' and p.released_at is null;
update phone_numbers
   set paid_until = ((rent_anchor at time zone 'utc') + make_interval(months => paid_months)) at time zone 'utc'
 where rent_anchor is not null;

alter table phone_numbers
  add constraint phone_numbers_status_check check (status in ('active', 'past_due', 'releasing', 'released')),
  add constraint phone_numbers_released_has_time check ((status = 'released') = (released_at is not null)),
  add constraint phone_numbers_rent_terms check (
    (rent_anchor is null) = (paid_months is null) and (rent_anchor is null) = (paid_until is null)),
  add constraint phone_numbers_paid_months_check check (paid_months >= 1 and paid_months <= 1200),
  add constraint phone_numbers_past_due_terms check (
    status <> 'past_due' or (past_due_since is not null and rent_anchor is not null)),
  add constraint phone_numbers_release_reason_check check (
    release_reason is null or (release_reason in ('unpaid', 'customer') and status in ('releasing', 'released')));

-- The rent sweep's work list: rented numbers whose paid month has ended, oldest first.
create index phone_numbers_rent_due on phone_numbers (paid_until, id) where status in ('active', 'past_due');
-- Numbers whose release at Vapi and Twilio is not finished yet (the sweep re-drives them).
create index phone_numbers_releasing on phone_numbers (id) where status = 'releasing';
-- ledger_post's check after a credit: does this wallet have a number waiting for its rent?
create index phone_numbers_past_due_org on phone_numbers (org_id) where status = 'past_due';
-- GET /api/numbers: one organisation's numbers, newest first.
create index phone_numbers_org_created on phone_numbers (org_id, created_at desc);

alter table ledger_entries drop constraint ledger_entries_kind_sign;
alter table ledger_entries add constraint ledger_entries_kind_sign check (
     (kind = 'topup' and amount between 1 and 100000000 and reverses_entry_id is null)
  or (kind = 'phone_number' and amount < 0 and reverses_entry_id is null)
  or (kind = 'phone_number_refund' and amount > 0 and reverses_entry_id is not null)
  or (kind = 'phone_number_rent' and amount < 0 and reverses_entry_id is null)
  or (kind = 'call' and amount <= 0 and reverses_entry_id is null)
  or (kind = 'topup_refund' and amount between -100000000 and -1 and reverses_entry_id is null)
  or (kind = 'dispute' and amount between -100000000 and -1 and reverses_entry_id is null)
  or (kind = 'dispute_reversal' and amount between 1 and 100000000 and reverses_entry_id is not null));

alter table wallet_events drop constraint wallet_events_type_check;
alter table wallet_events add constraint wallet_events_type_check check (type in (
  'balance.low', 'balance.recovered', 'auto_recharge.failed', 'auto_recharge.disabled',
  'wallet.frozen', 'wallet.unfrozen', 'number.past_due', 'number.reactivated', 'number.released'));

alter table money_outbox drop constraint money_outbox_task_check;
alter table money_outbox add constraint money_outbox_task_check check (task in ('deliver_event', 'auto_recharge', 'retry_rent'));
create unique index money_outbox_one_rent_retry on money_outbox (org_id)
  where task = 'retry_rent' and done_at is null and claimed_until is null;
