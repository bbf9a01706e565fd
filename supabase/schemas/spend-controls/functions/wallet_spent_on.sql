-- wallet_spent_on(wallets,timestamp with time zone)
--
-- wallet_spent_on (internal): the posted spend of the UTC day of p_now (holds not included).
-- The day is the billing clock's (issue 24): p_now is a real instant, moved by billing_offset_seconds()
-- as ledger_post moves the day it records (both are now() outside sandbox mode). Stable, no longer
-- immutable: it reads the clock.
--
-- (from 20261201000400_hot_helpers_in_plpgsql)
-- Why (issue 15, benchmark b): a `language sql` function that is security definer (or has a SET
-- clause) is never inlined, and each call from plpgsql parses, analyses and plans its body again.
-- `perf` over Postgres during bench b put 31% of its CPU under fmgr_sql (parser, planner,
-- stringToNode), almost all of it call_holds_sum and call_hold_json, called once per admission.
-- plpgsql prepares each statement once per session and reuses the plan. pgbench, batches of 30
-- admissions over 135 live holds per organisation: 6.37 ms → 5.44 (call_holds_sum) → 4.45 ms
-- (call_hold_json). calls_live_count and wallet_spent_on run on the same path when an organisation
-- has maxConcurrentCalls or dailySpendLimit set, so they change too.
-- test/calls/hot-helpers.test.ts keeps them out of `language sql`.
--
-- Defined in 20261130001200_spend_controls, 20261201000400_hot_helpers_in_plpgsql, 20261206000200_number_rental (the last is current).
--
-- Called by: call_gate_admit_plan(), call_meter_renew(), wallet_purchase_refusal().
CREATE OR REPLACE FUNCTION public.wallet_spent_on(w wallets, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return case when w.spend_day = ((p_now + make_interval(secs => billing_offset_seconds())) at time zone 'utc')::date
              then w.spend_today else 0 end;
end $function$;
