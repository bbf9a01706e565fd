-- call_gate_record_holds(jsonb)
--
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
-- (from 20261201000600_record_holds_probe_by_key)
-- call_gate_record_holds and call_holds_upsert (as in 20261201000500_record_holds_in_one_statement.sql)
-- with two changes to how their statements read `calls` and `organizations`, found with
-- auto_explain during benchmark a (issue 15; batches of ≈ 60 holds every 20 ms):
--
-- (from 20261201000500_record_holds_in_one_statement)
-- call_gate_record_holds (as in 20261201000200_record_holds_by_key.sql) with two changes, both
-- found profiling the cache path's durable write (issue 15, benchmark a; one batch every 20 ms
-- under load, hold-recorder.ts):
--
-- (from 20261201000500_record_holds_in_one_statement)
-- Writes p_holds (as call_gate_record_holds takes them; an array) in one statement: a new call id
-- is inserted, an unsettled row is advanced (more slices, or its end), anything else is left as
-- it is. A hold whose organisation does not exist is skipped (the caller sees no row). Returns
-- {recorded, updated}: how many rows were inserted and updated; raises if any hold cannot be
-- written. Internal.
--
-- (from 20261130001600_holds_watch_money)
-- Holds placed or grown on the Redis path lower `available` too (CONTRACT §7: a threshold is
-- crossed "through any charge, purchase or hold"). Money in (20261130001100) watched every ledger
-- movement and the Postgres-path admission; a Redis-path hold reaches Postgres through
-- call_gate_record_holds (the gate's batch, a few milliseconds after the answer, and every renewal's
-- copy), and a Postgres-path renewal through call_meter_renew. Both now run the same watch, so a
-- balance.low alert or an auto-recharge follows a hold within one batch, not at the call's charge.
--
-- Defined in 20261123000400_call_gate_fast_path, 20261130000300_metered_holds, 20261130001600_holds_watch_money, 20261201000200_record_holds_by_key, 20261201000500_record_holds_in_one_statement, 20261201000600_record_holds_probe_by_key (the last is current).
--
-- Called by: call_hold_end(), shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_gate_record_holds(p_holds jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  h jsonb;
  w jsonb;
  v_recorded integer := 0;
  v_updated integer := 0;
  v_rejected integer := 0;
  v_rejected_ids jsonb := '[]'::jsonb;
  v_org uuid;
  v_orgs uuid[];
  v_written boolean := false;
begin
  -- The RPC adapters pass scalars only: the array arrives as JSON text inside a jsonb string
  -- through PostgREST, or as the array itself through node-postgres.
  if jsonb_typeof(p_holds) = 'string' then
    p_holds := (p_holds #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_holds) is distinct from 'array' or jsonb_array_length(p_holds) > 1000 then
    raise exception 'call_gate_record_holds: expected an array of at most 1000 holds' using errcode = '22023';
  end if;
  -- Every money function locks the wallet row first, then the rows that depend on it (calls, the
  -- money settings). The batch does the same, for its organisations in one fixed order, before it
  -- writes a hold: the watch below touches the settings and, through foreign keys, the wallet,
  -- and without this a batch and a charge of one organisation deadlock. A malformed org id must
  -- only fail its own hold: call_gate_org_key gives it null (no wallet), and any well-formed one
  -- its uuid, so the lookup uses the primary key.
  v_orgs := array(select distinct call_gate_org_key(x->>'org_id') from jsonb_array_elements(p_holds) x);
  perform 1 from wallets where org_id = any (v_orgs) order by org_id for no key update;
  -- One statement for the batch when every hold has its own call id (a repeated one is written
  -- in order, one at a time, as before), and nothing in it raises.
  if (select count(*) = count(distinct x->>'call_id') from jsonb_array_elements(p_holds) x) then
    begin
      w := call_holds_upsert(p_holds);
      v_recorded := (w->>'recorded')::integer;
      v_updated := (w->>'updated')::integer;
      v_rejected := jsonb_array_length(w->'rejected');
      select coalesce(jsonb_agg(to_jsonb(left(coalesce(id, '?'), 200)) order by i), '[]'::jsonb) into v_rejected_ids
        from jsonb_array_elements_text(w->'rejected') with ordinality s(id, i) where i <= 20;
      v_written := true;
    exception when others then
      -- Some hold cannot be written, so nothing of the batch was (v_written stays false).
      null;
    end;
  end if;
  if not v_written then
    -- The rollback above does not reset variables the statement had already assigned.
    v_recorded := 0;
    v_updated := 0;
    for h in select * from jsonb_array_elements(p_holds) loop
      begin
        w := call_holds_upsert(jsonb_build_array(h));
        if jsonb_array_length(w->'rejected') > 0 then
          raise exception 'no such organisation' using errcode = '23503';
        end if;
        v_recorded := v_recorded + (w->>'recorded')::integer;
        v_updated := v_updated + (w->>'updated')::integer;
      exception when others then
        v_rejected := v_rejected + 1;
        if jsonb_array_length(v_rejected_ids) < 20 then
          v_rejected_ids := v_rejected_ids || to_jsonb(left(coalesce(h->>'call_id', '?'), 200));
        end if;
      end;
    end loop;
  end if;
  -- Money in: these holds lowered `available`, which alerts and auto-recharge watch (in a fixed
  -- order of organisations, so two batches never wait on each other's settings rows). Only the
  -- organisations with settings: for any other the watch has nothing to do.
  for v_org in select s.org_id from wallet_money_settings s where s.org_id = any (v_orgs) order by 1 loop
    perform wallet_money_watch(v_org);
  end loop;
  return jsonb_build_object('recorded', v_recorded, 'updated', v_updated, 'rejected', v_rejected,
                            'rejected_call_ids', v_rejected_ids);
end $function$;
