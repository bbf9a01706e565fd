-- call_gate_admit_plan(wallets,bigint,timestamp with time zone,bigint,bigint,integer,integer,integer,text,integer,bigint,integer,integer)
--
-- (from 20261207001100_call_rates_functions)
-- Plans at the call's own rate: its connect fee, minimum and increments go to call_gate_plan_hold.
--
-- What an admission can hold once its wallet is locked and its organisation's live holds are
-- summed (p_held): call_gate_admit's rules (spend controls, then call_gate_plan_hold), one copy
-- for both call_gate_admit and call_gate_admit_many. Returns {available, amount, seconds, cap,
-- held seconds} when a hold fits; {available, -1} when only dailySpendLimit stands in the way;
-- {available} when nothing fits.
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
-- Defined in 20261201000700_admit_batch_one_insert.
--
-- Called by: call_gate_admit(), call_gate_admit_many().
CREATE OR REPLACE FUNCTION public.call_gate_admit_plan(w wallets, p_held bigint, p_now timestamp with time zone, p_rate_per_minute bigint, p_min_balance bigint, p_safety_margin_seconds integer, p_min_duration_seconds integer, p_max_duration_seconds integer, p_policy text, p_hold_seconds integer, p_connect_fee bigint DEFAULT 0, p_minimum_seconds integer DEFAULT 0, p_increment_seconds integer DEFAULT 1)
 RETURNS bigint[]
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_available bigint := w.balance - p_held;
  v_effective bigint := w.balance - p_held;
  v_max_seconds integer := p_max_duration_seconds;
  v_plan bigint[];
begin
  if w.daily_spend_limit is not null then
    v_effective := least(v_available, w.daily_spend_limit - wallet_spent_on(w, p_now) - p_held);
  end if;
  if w.max_call_seconds is not null then
    v_max_seconds := least(v_max_seconds, w.max_call_seconds);
  end if;
  v_plan := call_gate_plan_hold(v_effective, p_rate_per_minute, p_min_balance, p_safety_margin_seconds,
    p_min_duration_seconds, v_max_seconds, p_policy, p_hold_seconds, p_connect_fee, p_minimum_seconds, p_increment_seconds);
  if v_plan is not null then
    return array[v_available] || v_plan;
  end if;
  if v_effective < v_available and call_gate_plan_hold(v_available, p_rate_per_minute, p_min_balance,
       p_safety_margin_seconds, p_min_duration_seconds, v_max_seconds, p_policy, p_hold_seconds, p_connect_fee,
       p_minimum_seconds, p_increment_seconds) is not null then
    return array[v_available, -1];
  end if;
  return array[v_available];
end $function$;
