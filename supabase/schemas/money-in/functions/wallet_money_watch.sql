-- wallet_money_watch(uuid)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_money_watch (internal): the threshold rules, evaluated where the balance changes.
-- Call only while holding the wallet row lock (ledger_post, call_gate_admit do).
-- Effects: one balance.low per threshold crossed downwards (available <= threshold) and one
--          balance.recovered when it rises above again; a "recharge wanted" outbox row when
--          auto-recharge is on, the wallet is not frozen, available < threshold, and no recharge
--          is wanted or in flight already. A wallet with no settings costs one index probe.
--          The row stays open until its recharge is answered (money_outbox.sql); at most one is
--          open per wallet (money_outbox_one_recharge), so a flag out of step with the rows
--          cannot make a second one, nor fail the money movement that called the watch.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: auto_recharge_settings_put(), call_gate_admit(), call_gate_admit_many(), call_gate_record_holds(), call_meter_renew(), ledger_post(), top_up_fail(), wallet_unfreeze().
CREATE OR REPLACE FUNCTION public.wallet_money_watch(p_org_id uuid)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  s wallet_money_settings%rowtype;
  w wallets%rowtype;
  v_available bigint;
  v_low bigint[];
  t bigint;
  v_wanted boolean;
begin
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  if not found then
    return;
  end if;
  select * into w from wallets where org_id = p_org_id;
  v_available := w.balance - call_holds_sum(p_org_id, now());
  v_low := s.alerts_low;
  for t in select x from unnest(s.alert_thresholds) x order by x desc loop
    if v_available <= t and not (t = any (v_low)) then
      v_low := v_low || t;
      perform wallet_event_emit(p_org_id, 'balance.low', jsonb_build_object('threshold', t));
    end if;
  end loop;
  for t in select x from unnest(s.alert_thresholds) x order by x asc loop
    if v_available > t and t = any (v_low) then
      v_low := array_remove(v_low, t);
      perform wallet_event_emit(p_org_id, 'balance.recovered', jsonb_build_object('threshold', t));
    end if;
  end loop;
  v_wanted := s.recharge_wanted;
  if s.recharge_enabled and not w.frozen and v_available < s.recharge_threshold
     and not s.recharge_wanted and s.recharge_in_flight is null then
    insert into money_outbox (org_id, task) values (p_org_id, 'auto_recharge')
      on conflict (org_id) where task = 'auto_recharge' and done_at is null do nothing;
    v_wanted := true;
  end if;
  if v_low is distinct from s.alerts_low or v_wanted <> s.recharge_wanted then
    update wallet_money_settings set alerts_low = v_low, recharge_wanted = v_wanted, updated_at = now()
     where org_id = p_org_id;
  end if;
end $function$;
