-- call_gate_admit(uuid,text,bigint,bigint,integer,integer,integer,integer,text,integer,timestamp with time zone,bigint,integer,integer,text)
--
-- (from 20261207001100_call_rates_functions)
-- The call's own rate (CONTRACT §10): p_rate_per_minute with p_connect_fee, p_minimum_seconds,
-- p_increment_seconds and p_rate_prefix (null: no row matched, the default rate) plan the hold and
-- are written on the calls row, where renewals, the "ended" resize and the charge read them.
--
-- call_gate_admit (as in 20261130001500_money_in_meets_spend_controls.sql), its plan now taken
-- from call_gate_admit_plan.
--
-- (from 20261201000700_admit_batch_one_insert)
-- call_gate_admit_many decides every element by call_gate_admit's own rules (the plan and spend
-- controls now in call_gate_admit_plan, which both call), in the same order (organisation, then
-- input order), but keeps the holds it grants in an array: a later element
-- of the same organisation counts them as call_gate_admit would count the rows (in `available`,
-- in maxConcurrentCalls, by expiry at its own `now`), and a later element with the same call id
-- answers `existing` from them. Then it writes them in one INSERT, and runs the money watch once
-- per organisation that took a hold, after all of them: a batch only lowers `available`, so the
-- watch sends the same alerts and asks for the same recharge as it did after each hold (the
-- outbox rows of one organisation may come in another order: alerts before the recharge).
-- `call_holds_sum` is read once per organisation and moment, not once per element (nothing is
-- written to `calls` until the end).
--
-- (from 20261201000700_admit_batch_one_insert)
-- Any element that raises (a malformed org id or time, a call id the CHECKs refuse, a call id a
-- concurrent transaction took) rolls the whole attempt back, and the batch is then decided as
-- before: call_gate_admit for each element in its own subtransaction, so that element alone fails.
-- An org id that is not a uuid is one of those (call_gate_org_key gives null; it sorts last and
-- fails alone there, before it locks anything).
-- test/calls/admit-batch.test.ts proves both ways answer as call_gate_admit alone (generated
-- batches, with and without elements that raise, money settings included) and that a clean batch
-- never calls call_gate_admit.
--
-- (from 20261201000700_admit_batch_one_insert)
-- What an admission can hold once its wallet is locked and its organisation's live holds are
-- summed (p_held): call_gate_admit's rules (spend controls, then call_gate_plan_hold), one copy
-- for both call_gate_admit and call_gate_admit_many. Returns {available, amount, seconds, cap,
-- held seconds} when a hold fits; {available, -1} when only dailySpendLimit stands in the way;
-- {available} when nothing fits.
--
-- (from 20261130001500_money_in_meets_spend_controls)
-- Joins two changes made side by side (issue 11, money in: 20261130001100; issue 12, spend
-- controls: 20261130001200). Both replaced the same functions; the later file's versions won and
-- dropped the earlier file's hooks. These are the spend-controls versions with the money-in hooks
-- put back:
--   ledger_post        every movement runs the alert / auto-recharge watch (wallet_money_watch);
--   call_gate_admit    so does a hold placed on the Postgres path;
--   wallet_freeze / wallet_unfreeze   the wallet.frozen / wallet.unfrozen events (and, on unfreeze,
--                      the watch, so a recharge wanted while frozen may run), and the argument
--                      checks of the money-in version;
--   wallet_cache_json  what money-in's functions hand to the cache carries the spend controls, so
--                      a write-through from a Stripe event keeps the cached controls.
-- Grants are unchanged (create or replace keeps them).
--
-- Defined in 20261123000400_call_gate_fast_path, 20261130000300_metered_holds, 20261130001100_money_in, 20261130001200_spend_controls, 20261130001500_money_in_meets_spend_controls, 20261201000700_admit_batch_one_insert (the last is current).
--
-- Called by: call_gate_admit_batch(), outbound_call_admit().
CREATE OR REPLACE FUNCTION public.call_gate_admit(p_org_id uuid, p_call_id text, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_hold_grace_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_now timestamp with time zone, p_connect_fee bigint DEFAULT 0, p_minimum_seconds integer DEFAULT 0, p_increment_seconds integer DEFAULT 1, p_rate_prefix text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  c calls%rowtype;
  w wallets%rowtype;
  v_now timestamptz := coalesce(p_now, now());
  v_plan bigint[];
begin
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into c from calls where call_id = p_call_id;
  if found then
    return jsonb_build_object('outcome', 'existing', 'hold_amount', c.hold_amount,
      'max_duration_seconds', c.max_duration_seconds, 'hold_state', c.hold_state);
  end if;
  if w.frozen then
    return jsonb_build_object('outcome', 'refused', 'reason', 'wallet_frozen');
  end if;
  if w.max_concurrent_calls is not null and calls_live_count(p_org_id, v_now) >= w.max_concurrent_calls then
    return jsonb_build_object('outcome', 'refused', 'reason', 'maxConcurrentCalls');
  end if;
  v_plan := call_gate_admit_plan(w, call_holds_sum(p_org_id, v_now), v_now, p_rate_per_minute, p_min_balance,
    p_safety_margin_seconds, p_min_duration_seconds, p_max_duration_seconds, p_policy, p_hold_seconds,
    p_connect_fee, p_minimum_seconds, p_increment_seconds);
  if cardinality(v_plan) = 2 then
    return jsonb_build_object('outcome', 'refused', 'reason', 'dailySpendLimit');
  elsif cardinality(v_plan) = 1 then
    return jsonb_build_object('outcome', 'available', 'available', v_plan[1]);
  end if;
  insert into calls (call_id, org_id, hold_amount, max_duration_seconds, hold_expires_at, admitted_path,
                     hold_policy, hold_cap, held_seconds, admitted_at, rate_prefix, rate_per_minute,
                     connect_fee, minimum_seconds, increment_seconds)
  values (p_call_id, p_org_id, v_plan[2], v_plan[3],
          v_now + make_interval(secs => v_plan[3] + p_hold_grace_seconds), 'database_fallback',
          p_policy, v_plan[4], v_plan[5], v_now, p_rate_prefix, p_rate_per_minute, p_connect_fee,
          p_minimum_seconds, p_increment_seconds)
  returning * into c;
  -- Money in: a hold lowers `available`, which alerts and auto-recharge watch.
  perform wallet_money_watch(p_org_id);
  return jsonb_build_object('outcome', 'held', 'hold_amount', v_plan[2],
    'max_duration_seconds', v_plan[3], 'available', v_plan[1] - v_plan[2], 'hold', call_hold_json(c));
end $function$;
