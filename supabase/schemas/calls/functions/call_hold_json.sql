-- call_hold_json(calls)
--
-- (from 20261207001100_call_rates_functions)
-- Carries the call's rate (null fields: the default rate), which the Redis entry keeps beside it.
--
-- The shape both the snapshot and the admission report a hold in (internal).
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
-- Defined in 20261130000300_metered_holds, 20261201000400_hot_helpers_in_plpgsql (the last is current).
--
-- Called by: call_gate_admit(), call_gate_admit_many(), call_gate_snapshot(), call_meter_get(), calls_live_for_org(), calls_open_meters().
CREATE OR REPLACE FUNCTION public.call_hold_json(c calls)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  return jsonb_build_object(
    'call_id', c.call_id,
    'state', case when c.ended_at is null then 'held' else 'ended' end,
    'amount', c.hold_amount,
    'max_duration_seconds', c.max_duration_seconds,
    'expires_at_ms', (extract(epoch from c.hold_expires_at) * 1000)::bigint,
    'admitted_at_ms', (extract(epoch from c.admitted_at) * 1000)::bigint,
    'cap', coalesce(c.hold_cap, c.hold_amount),
    'slices', c.slices,
    'rate_prefix', c.rate_prefix,
    'rate_per_minute', c.rate_per_minute,
    'connect_fee', c.connect_fee,
    'minimum_seconds', c.minimum_seconds,
    'increment_seconds', c.increment_seconds);
end $function$;
