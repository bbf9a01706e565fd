-- wallet_alerts_put(uuid,jsonb,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- Alerts and events.
-- wallet_alerts_put: thresholds (0..5 distinct, >= 0) and the webhook URL; the signing secret is
--   kept from the first time (p_new_secret is used only when none exists; signing_secret is
--   returned only then). Thresholds the wallet is already at or below count as crossed (no
--   burst of alerts for the past), evaluated at once.
-- wallet_events_list: newest first, keyset by id.
-- wallet_event_for_delivery / wallet_event_delivered: the delivery job's read and its record.
-- money_outbox_claim / money_outbox_done: the relay's lease on pending outbox rows.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_alerts_put(p_org_id uuid, p_thresholds jsonb, p_webhook_url text, p_new_secret text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  s wallet_money_settings%rowtype;
  v_thresholds bigint[];
  v_new boolean;
  v_available bigint;
begin
  if jsonb_typeof(p_thresholds) = 'string' then
    p_thresholds := (p_thresholds #>> '{}')::jsonb;
  end if;
  if jsonb_typeof(p_thresholds) is distinct from 'array' or jsonb_array_length(p_thresholds) > 5 then
    raise exception 'wallet_alerts_put: at most five thresholds' using errcode = '22023';
  end if;
  select coalesce(array_agg(distinct x::bigint order by x::bigint desc), '{}') into v_thresholds
    from jsonb_array_elements_text(p_thresholds) x;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  insert into wallet_money_settings (org_id) values (p_org_id) on conflict (org_id) do nothing;
  select * into s from wallet_money_settings where org_id = p_org_id for update;
  v_new := s.signing_secret is null;
  v_available := (select balance from wallets where org_id = p_org_id) - call_holds_sum(p_org_id, now());
  update wallet_money_settings
     set alert_thresholds = v_thresholds,
         alerts_low = (select coalesce(array_agg(x), '{}') from unnest(v_thresholds) x where v_available <= x),
         webhook_url = p_webhook_url,
         signing_secret = coalesce(signing_secret, p_new_secret), updated_at = now()
   where org_id = p_org_id
  returning * into s;
  return jsonb_build_object('outcome', 'found', 'thresholds', to_jsonb(s.alert_thresholds),
    'webhook_url', s.webhook_url, 'signing_secret', case when v_new then s.signing_secret end,
    'currency', (select currency from wallets where org_id = p_org_id));
end $function$;
