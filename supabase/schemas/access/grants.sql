-- Every grant and revoke of the schema, in one place (failure mode 20: nothing reaches money but
-- through the functions granted here).
--
-- Supabase gives every new table, sequence and function in `public` to anon, authenticated and
-- service_role; a plain Postgres gives EXECUTE on every new function to PUBLIC. Both are closed:
-- tables and sequences are reachable by no API role (the service role moves money only through the
-- functions below, which are SECURITY DEFINER), internal helpers are executable by nobody but
-- their owner, and the service role gets EXECUTE on exactly the functions it calls.
-- Applied last (supabase/config.toml, schema_paths), after every object exists.

-- Supabase has these roles; a plain Postgres gets them so that the grants below mean the same.
do $$
declare r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    begin
      execute format('create role %I nologin', r);
    exception when duplicate_object or unique_violation then null;
    end;
  end loop;
end $$;

-- PUBLIC's EXECUTE on new functions is a global default, and per-schema default privileges can
-- only add to the global ones (PostgreSQL docs, ALTER DEFAULT PRIVILEGES): functions the migrating
-- role creates later start closed.
alter default privileges revoke execute on functions from public;

grant usage on schema public to service_role;

-- Tables and sequences: no API role reads or writes a row directly (balance only via the ledger,
-- failure mode 2); row level security is on for every table (in each table's file) with no policy.
revoke all on table
  call_controls,
  call_reports,
  calls,
  idempotency_keys,
  ledger_entries,
  money_outbox,
  organizations,
  phone_numbers,
  provisioning_requests,
  stripe_charges,
  stripe_disputes,
  stripe_events,
  top_ups,
  wallet_events,
  wallet_money_settings,
  wallets
from public, anon, authenticated, service_role;
revoke all on sequence
  ledger_entries_id_seq,
  money_outbox_id_seq,
  wallet_events_id_seq
from public, anon, authenticated, service_role;

-- Functions: internal helpers are executable only by their owner (the functions that call them
-- are SECURITY DEFINER).
revoke all on function
  auto_recharge_claim(uuid,integer,bigint,integer),
  auto_recharge_failed(uuid,text,text),
  auto_recharge_json(wallet_money_settings),
  auto_recharge_request_done(uuid,uuid),
  auto_recharge_settings_get(uuid),
  auto_recharge_settings_put(uuid,boolean,bigint,bigint),
  auto_recharge_submitted(uuid,text),
  call_control_url_set(text,text),
  call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone),
  call_gate_admit_batch(jsonb,bigint,bigint,integer,integer,integer,integer,text,integer),
  call_gate_admit_many(jsonb,bigint,bigint,integer,integer,integer,integer,text,integer),
  call_gate_admit_plan(wallets,bigint,timestamp with time zone,bigint,bigint,integer,integer,integer,text,integer),
  call_gate_cancel_hold(text),
  call_gate_org_key(text),
  call_gate_plan_hold(bigint,bigint,bigint,integer,integer,integer,text,integer),
  call_gate_record_holds(jsonb),
  call_gate_snapshot(uuid),
  call_hold_end(text,bigint,integer,jsonb),
  call_hold_json(calls),
  call_hold_release(text,text),
  call_holds_sum(uuid,timestamp with time zone),
  call_holds_total(uuid),
  call_holds_upsert(jsonb),
  call_hot_released(text),
  call_meter_get(text),
  call_meter_renew(text,integer,bigint,bigint,timestamp with time zone),
  call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text),
  call_reports_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text),
  call_settle(text,bigint,integer,text),
  call_settle_core(text,bigint,integer,text),
  call_settle_not_found(text),
  call_settled(text),
  call_sweep_defer(text,timestamp with time zone),
  calls_due_for_hot_release(timestamp with time zone,integer,timestamp with time zone,text),
  calls_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text),
  calls_live_count(uuid,timestamp with time zone),
  calls_live_for_org(uuid),
  calls_open_meters(text,integer),
  idempotency_lookup(uuid,text,text,text),
  idempotency_record(uuid,text,text,text,jsonb),
  ledger_entries_append_only(),
  ledger_list(uuid,bigint,integer),
  ledger_post(uuid,text,bigint,text,text,bigint,boolean),
  ledger_result(text,ledger_entries,wallets),
  lock_wallet(uuid),
  money_outbox_claim(integer,integer),
  money_outbox_done(bigint),
  money_outbox_retry(bigint,integer,text,integer),
  org_create(text,uuid,text),
  org_limits_get(uuid),
  org_limits_json(wallets),
  org_limits_set(uuid,integer,bigint,integer,integer),
  phone_number_register(uuid,text,text,text),
  phone_number_resolve(text,text),
  provision_reconcile_lookup(uuid[]),
  provision_request_complete(uuid,text,text,text),
  provision_request_create(uuid,jsonb,text,text,text,text,text,integer),
  provision_request_get(uuid,uuid),
  provision_request_load(uuid),
  provision_request_mark_failed(uuid,text),
  provision_request_mark_retrying(uuid,text),
  provision_request_note_import(uuid,text),
  provision_request_note_step(uuid,text,text,text),
  provision_request_refund(uuid),
  provision_request_refund_core(uuid),
  provision_request_start_attempt(uuid),
  provision_sweep_candidates(timestamp with time zone,integer,integer,timestamp with time zone,uuid),
  provision_sweep_defer(uuid,timestamp with time zone),
  provisioning_json(provisioning_requests),
  stripe_charge_refunded(text,text,text,text,bigint,text),
  stripe_dispute_event(text,text,text,text,text,bigint,text,text),
  stripe_event_claim(text,text,text),
  stripe_event_done(text,text,uuid),
  stripe_event_note(text,text,text),
  stripe_lock_payment_wallet(text),
  stripe_payment_closed(text,text,uuid,uuid,text,text,text),
  stripe_payment_lock(text),
  stripe_payment_succeeded(text,text,uuid,uuid,text,bigint,text,text,text,text,text,text),
  stripe_reconcile_payment(text),
  top_up_fail(uuid,text,text,text),
  top_up_json(top_ups),
  topup_attach_session(uuid,text,text),
  topup_create(uuid,bigint,text,text),
  topup_get(uuid,uuid),
  wallet_alerts_put(uuid,jsonb,text,text),
  wallet_cache_json(uuid),
  wallet_charge_call(uuid,text,bigint,text),
  wallet_controls_json(wallets),
  wallet_credit(uuid,bigint,text,text,text),
  wallet_debit_for_purchase(uuid,bigint,text,text),
  wallet_event_delivered(bigint),
  wallet_event_emit(uuid,text,jsonb),
  wallet_event_for_delivery(bigint),
  wallet_events_list(uuid,bigint,integer),
  wallet_freeze(uuid,text,text),
  wallet_get(uuid),
  wallet_money_watch(uuid),
  wallet_purchase_refusal(wallets,bigint,timestamp with time zone),
  wallet_refund(uuid,bigint,text),
  wallet_spent_on(wallets,timestamp with time zone),
  wallet_stripe_customer(uuid,text),
  wallet_unfreeze(uuid,text)
from public, anon, authenticated, service_role;

-- What the service role (shared/db/rpc.ts, over node-postgres or supabase-js) calls.
grant execute on function
  auto_recharge_claim(uuid,integer,bigint,integer),
  auto_recharge_failed(uuid,text,text),
  auto_recharge_settings_get(uuid),
  auto_recharge_settings_put(uuid,boolean,bigint,bigint),
  auto_recharge_submitted(uuid,text),
  call_control_url_set(text,text),
  call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone),
  call_gate_admit_batch(jsonb,bigint,bigint,integer,integer,integer,integer,text,integer),
  call_gate_cancel_hold(text),
  call_gate_record_holds(jsonb),
  call_gate_snapshot(uuid),
  call_hold_end(text,bigint,integer,jsonb),
  call_hold_release(text,text),
  call_holds_total(uuid),
  call_hot_released(text),
  call_meter_get(text),
  call_meter_renew(text,integer,bigint,bigint,timestamp with time zone),
  call_report_record(text,uuid,text,text,timestamp with time zone,timestamp with time zone,numeric,text,text),
  call_reports_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text),
  call_settle(text,bigint,integer,text),
  call_settle_not_found(text),
  call_settled(text),
  call_sweep_defer(text,timestamp with time zone),
  calls_due_for_hot_release(timestamp with time zone,integer,timestamp with time zone,text),
  calls_due_for_sweep(timestamp with time zone,integer,integer,timestamp with time zone,text),
  calls_live_for_org(uuid),
  calls_open_meters(text,integer),
  ledger_list(uuid,bigint,integer),
  money_outbox_claim(integer,integer),
  money_outbox_done(bigint),
  money_outbox_retry(bigint,integer,text,integer),
  org_create(text,uuid,text),
  org_limits_get(uuid),
  org_limits_set(uuid,integer,bigint,integer,integer),
  phone_number_register(uuid,text,text,text),
  phone_number_resolve(text,text),
  provision_reconcile_lookup(uuid[]),
  provision_request_complete(uuid,text,text,text),
  provision_request_create(uuid,jsonb,text,text,text,text,text,integer),
  provision_request_get(uuid,uuid),
  provision_request_load(uuid),
  provision_request_mark_failed(uuid,text),
  provision_request_mark_retrying(uuid,text),
  provision_request_note_import(uuid,text),
  provision_request_note_step(uuid,text,text,text),
  provision_request_refund(uuid),
  provision_request_start_attempt(uuid),
  provision_sweep_candidates(timestamp with time zone,integer,integer,timestamp with time zone,uuid),
  provision_sweep_defer(uuid,timestamp with time zone),
  stripe_charge_refunded(text,text,text,text,bigint,text),
  stripe_dispute_event(text,text,text,text,text,bigint,text,text),
  stripe_event_note(text,text,text),
  stripe_payment_closed(text,text,uuid,uuid,text,text,text),
  stripe_payment_succeeded(text,text,uuid,uuid,text,bigint,text,text,text,text,text,text),
  topup_attach_session(uuid,text,text),
  topup_create(uuid,bigint,text,text),
  topup_get(uuid,uuid),
  wallet_alerts_put(uuid,jsonb,text,text),
  wallet_charge_call(uuid,text,bigint,text),
  wallet_credit(uuid,bigint,text,text,text),
  wallet_debit_for_purchase(uuid,bigint,text,text),
  wallet_event_delivered(bigint),
  wallet_event_for_delivery(bigint),
  wallet_events_list(uuid,bigint,integer),
  wallet_freeze(uuid,text,text),
  wallet_get(uuid),
  wallet_refund(uuid,bigint,text),
  wallet_stripe_customer(uuid,text),
  wallet_unfreeze(uuid,text)
to service_role;
