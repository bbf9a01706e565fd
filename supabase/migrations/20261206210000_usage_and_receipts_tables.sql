-- Usage, statements and receipts (issue 25, CONTRACT §12): what the new read functions need that
-- the tables did not keep, written by hand because it holds data. The functions themselves are in
-- the next migration, generated from supabase/schemas/.
--
-- * call_reports keeps who called whom (the report's customer number and the number called) and
--   what the call's charge was computed from: the seconds billed (exact, as call_settle counted
--   them) and the rate per minute it used. The calls list and the usage's seconds read them.
--   Reports billed before this migration get their seconds back from the charge's own ledger
--   reference ('call <id>: <ms> ms', written by call_settle); their rate was not recorded.
-- * top_up_receipts: one receipt per paid top-up, numbered from ONE gap-free series. A Postgres
--   sequence is not gap-free (a rolled-back transaction burns its number), so the number comes from
--   receipt_counter, one row updated under its row lock in the transaction that marks the top-up
--   paid (stripe_payment_succeeded): a rollback gives the number back, and two payments can never
--   take the same one (the receipt number is also the primary key). Top-ups paid before this
--   migration are numbered here, in the order they were credited; their card is not known.
-- * Indexes for the new reads: a wallet's entries by time (usage days, monthly statements), an
--   organisation's calls newest first (the calls list), a report by its charge (usage seconds).

alter table call_reports
  -- The caller's and the called number as the report gives them (E.164 or whatever Vapi sends).
  add column from_number text check (length(from_number) between 1 and 40),
  add column to_number text check (length(to_number) between 1 and 40),
  -- What the charge was computed from (call_settle): exact seconds, and the rate it used.
  add column billed_seconds numeric check (billed_seconds >= 0),
  add column billed_rate_per_minute bigint check (billed_rate_per_minute >= 1);

update call_reports r
   set billed_seconds = substring(e.reference from ': ([0-9]+(?:\.[0-9]+)?) ms$')::numeric / 1000
  from ledger_entries e
 where e.id = r.charge_entry_id
   and r.billed_seconds is null
   and e.reference ~ ': [0-9]+(\.[0-9]+)? ms$';

create index ledger_entries_org_created on ledger_entries (org_id, created_at);
create index calls_org_admitted on calls (org_id, admitted_at, call_id);
create index call_reports_charge_entry on call_reports (charge_entry_id) where charge_entry_id is not null;

-- The receipt series: one row, the last number issued. Updated only by top_up_receipt_issue().
create table receipt_counter (
  singleton boolean primary key default true check (singleton),
  last_number bigint not null check (last_number >= 1)
);
alter table receipt_counter enable row level security;

create table top_up_receipts (
  -- R-000001 is 1: the primary key makes each number unique; the counter makes the series gap-free.
  receipt_number bigint primary key check (receipt_number >= 1),
  top_up_id uuid not null unique references top_ups (id),
  org_id uuid not null references wallets (org_id),
  amount bigint not null check (amount between 1 and 100000000),
  currency text not null check (currency ~ '^[a-z]{3}$'),
  -- When the payment was credited (the credit's transaction time: its ledger entry's created_at).
  paid_at timestamptz not null,
  -- The card that paid, as Stripe describes it; null when Stripe could not be asked.
  card_brand text check (length(card_brand) between 1 and 50),
  card_last4 text check (card_last4 ~ '^[0-9]{4}$')
);
alter table top_up_receipts enable row level security;

insert into top_up_receipts (receipt_number, top_up_id, org_id, amount, currency, paid_at)
select row_number() over (order by t.credit_entry_id), t.id, t.org_id, t.amount, t.currency, e.created_at
  from top_ups t
  join ledger_entries e on e.id = t.credit_entry_id
 where t.status = 'paid';

insert into receipt_counter (singleton, last_number)
select true, max(receipt_number) from top_up_receipts having count(*) > 0;

revoke all on table receipt_counter, top_up_receipts from public, anon, authenticated, service_role;
