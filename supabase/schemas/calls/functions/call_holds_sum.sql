-- call_holds_sum(uuid,timestamp with time zone)
--
-- The helpers every Postgres-path admission calls, rewritten from `language sql` to plpgsql with
-- the same bodies, volatility, owner rights and search_path (grants stay: create or replace).
--
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
-- Defined in 20261123000300_calls, 20261201000400_hot_helpers_in_plpgsql (the last is current).
--
-- Called by: auto_recharge_claim(), call_gate_admit(), call_gate_admit_many(), call_holds_total(), call_meter_renew(), wallet_alerts_put(), wallet_event_emit(), wallet_money_watch(), wallet_purchase_refusal().
CREATE OR REPLACE FUNCTION public.call_holds_sum(p_org_id uuid, p_now timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return (select coalesce(sum(hold_amount), 0)::bigint from calls
           where org_id = p_org_id and hold_state = 'held' and hold_expires_at > p_now);
end $function$;
