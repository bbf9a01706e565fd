-- call_reports_unrecorded: a call charged with no calls row (admitted in fail-open mode, or whose
-- Redis-path hold record never reached Postgres) is marked on its report by call_settle (next
-- migration), so the calls list can list it: it is in the ledger, the usage and the statement,
-- and was missing from GET /api/calls. The partial index keeps that list's second branch to these
-- few reports. Reports charged before this migration are marked from what Postgres holds now.
alter table call_reports add column unrecorded boolean default false not null;
update call_reports r set unrecorded = true
 where r.charge_entry_id is not null and not exists (select 1 from calls c where c.call_id = r.call_id);
create index call_reports_unrecorded on call_reports (org_id, received_at, call_id) where unrecorded;
