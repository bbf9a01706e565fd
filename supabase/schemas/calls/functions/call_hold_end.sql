-- call_hold_end(text,bigint,integer,jsonb)
--
-- (from 20261207001100_call_rates_functions)
-- The time used is costed at the call's own rate (call_rate_cost over its calls row's rate; null:
-- p_rate_per_minute with no fee, no minimum, increments of 1 s).
--
-- ---------------------------------------------------------------------------------------------
-- call_hold_end: the call's status-update "ended" in Postgres: the hold becomes the cost of the
-- time from admission, bounded by (max duration + grace), at least 1 — it counts until the
-- charge replaces it (call_settle). When Postgres has no row yet (the batched record is still on
-- its way, or failed), p_hold (Redis's view of the call, as call_gate_record_holds takes it)
-- creates it, ended, so the sweeper can find it.
-- A settled call is left as it is ('settled'): an "ended" after the call's charge changes no
-- hold. When its row is missing and its report is already billed, p_hold writes the row settled
-- (call_holds_upsert), so that too answers 'settled' and holds nothing.
-- Output:  {outcome: ended | already | settled, org_id, amount} | {outcome: not_found}
-- ---------------------------------------------------------------------------------------------
--
-- (from 20261201000200_record_holds_by_key)
-- call_gate_record_holds (as in 20261130001600_holds_watch_money.sql) and call_hold_end (as in
-- 20261130000300_metered_holds.sql), with their lookups by organisation id made index lookups.
-- Both compared `org_id::text` with an id from their JSON input, so that a malformed id could not
-- fail the whole call; but a cast column cannot use the primary key, so every hold batch (one per
-- 5 ms under load, issue 15) read every wallet and every organisation, and every call's "ended"
-- every wallet: O(organisations) each, found while profiling the cache path's Postgres time.
-- call_gate_org_key (20261201000100) gives a malformed id null (it still fails only its own hold,
-- in the loop below) and a well-formed one its uuid; `= any (array(…))` is one index probe per id
-- (an IN over the function's rows let the planner join against a whole scan). Nothing else changes.
--
-- Defined in 20261130000300_metered_holds, 20261201000200_record_holds_by_key (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_hold_end(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_hold jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  c calls%rowtype;
  v_ms bigint;
begin
  if jsonb_typeof(p_hold) = 'string' then
    p_hold := (p_hold #>> '{}')::jsonb;  -- as call_gate_record_holds: PostgREST passes JSON text
  end if;
  -- The wallet row first, as every money function locks it (then the call's row): the
  -- organisation is the call's, else the one Redis's view names.
  perform 1 from wallets
   where org_id = coalesce((select org_id from calls where call_id = p_call_id), call_gate_org_key(p_hold->>'org_id'))
     for no key update;
  select * into c from calls where call_id = p_call_id for update;
  if not found and p_hold is not null and jsonb_typeof(p_hold) = 'object' then
    perform call_gate_record_holds(jsonb_build_array(p_hold));
    select * into c from calls where call_id = p_call_id for update;
  end if;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if c.settled_at is not null then
    return jsonb_build_object('outcome', 'settled', 'org_id', c.org_id, 'amount', 0);
  end if;
  if c.ended_at is not null then
    return jsonb_build_object('outcome', 'already', 'org_id', c.org_id, 'amount', c.hold_amount);
  end if;
  v_ms := least(greatest(0, (extract(epoch from (now() - c.admitted_at)) * 1000)::bigint),
                (c.max_duration_seconds + p_grace_seconds)::bigint * 1000);
  update calls
     set ended_at = coalesce(ended_at, now()),
         hold_amount = greatest(1, call_rate_cost(v_ms::numeric / 1000, coalesce(rate_per_minute, p_rate_per_minute),
                                                  coalesce(connect_fee, 0), coalesce(minimum_seconds, 0),
                                                  coalesce(increment_seconds, 1)))
   where call_id = p_call_id
  returning * into c;
  return jsonb_build_object('outcome', 'ended', 'org_id', c.org_id, 'amount', c.hold_amount);
end $function$;
