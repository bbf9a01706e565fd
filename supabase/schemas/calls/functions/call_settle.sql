-- call_settle(text,bigint,integer,text)
--
-- ---------------------------------------------------------------------------------------------
-- call_settle: charges a call from its recorded end-of-call report and ends its hold, atomically.
-- Inputs:  call id; CALL_RATE_PER_MINUTE (from Config.pricing: no price lives in SQL);
--          CALL_HOLD_GRACE_SECONDS; who settles (report | sweeper).
-- Seconds: the report's endedAt − startedAt when both are present, else its durationSeconds,
--          taken as given when plausible: present, >= 0 and <= bound, where
--          bound = the call's max_duration_seconds (43200 when no calls row: the call never passed
--          the gate) + grace. Otherwise (implausible) the call's own record: from calls.admitted_at
--          to calls.ended_at (its status-update "ended"), else to the report's received_at,
--          clamped to 0..bound; with no calls row, zero. A report with endedAt but neither
--          startedAt nor durationSeconds (the sweeper's reading of a Vapi call object without
--          startedAt) is billed from calls.admitted_at to that endedAt, clamped to 0..bound,
--          never to its arrival (call_settle_core, 20261206204000_settle_from_admission_to_ended).
-- Charge:  ceil(seconds × rate ÷ 60), once, in exact numeric arithmetic; zero seconds cost nothing.
-- Output:  {outcome: charged, org_id, amount, billed_ms, seconds_basis, implausible,
--           implausible_reason, entry_id, replayed, beyond_debt_limit, balance_after,
--           balance, version, currency}
--          | {outcome: already_billed, org_id, entry_id, amount, replayed: true, balance, version, currency}
--          | {outcome: no_report} | {outcome: unattributed} | {outcome: no_wallet, org_id}
--          seconds_basis: report | admission_to_report_ended | admission_to_ended |
--          admission_to_received | none;
--          implausible_reason (null when plausible): missing | negative | beyond_bound.
--          balance/version/currency: the wallet now, for the cache write-through.
-- Effects: under the wallet row lock, at most one 'call' ledger entry per call id (key
--          'call:' || call id, as wallet_charge_call; an entry already there is reused, never
--          doubled), recorded even below zero or beyond the debt limit (the call happened); in the
--          same transaction the report is stamped billed (with the seconds and the rate billed,
--          since 20261206210100_usage_statements_receipts) and the calls row (if any) settled with
--          its hold released. Nothing else changes; a replay changes nothing.
-- ---------------------------------------------------------------------------------------------
--
-- (from 20261130000600_call_settle)
-- Settling a call in one transaction (docs/call-gate.md "Billing"; CONTRACT §4.2 "Ending and
-- settling"; failure modes 18, 23, 26). Until now the billing worker made two calls:
-- wallet_charge_call, then call_mark_billed, which stamped the report and released the hold. A
-- crash or an outage between the two left a charge without its settlement, and the two steps
-- could be observed apart. call_settle charges and releases under one wallet row lock, in one
-- transaction; it computes the charge itself from the report and the call's own record (rounded
-- once, in exact arithmetic, at the rate passed in from Config.pricing), and bounds it by what
-- the call could have lasted.
--
-- Defined in 20261130000600_call_settle, 20261130001200_spend_controls (the last is current).
--
-- Called by: shared/calls/call-billing.ts, shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_settle(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_settled_by text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r jsonb;
begin
  r := call_settle_core(p_call_id, p_rate_per_minute, p_grace_seconds, p_settled_by);
  if r ? 'version' then
    r := r || jsonb_build_object('controls', (select wallet_controls_json(w) from wallets w
                                               where w.org_id = (r->>'org_id')::uuid));
  end if;
  return r;
end $function$;
