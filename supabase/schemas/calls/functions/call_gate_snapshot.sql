-- call_gate_snapshot(uuid)
--
-- call_gate_snapshot: as in 20261130000300, plus controls (the cache fill stores the whole hash).
--
-- Defined in 20261123000300_calls, 20261130000300_metered_holds, 20261130001100_money_in, 20261130001200_spend_controls (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_gate_snapshot(p_org_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object(
       'outcome', 'found', 'balance', w.balance, 'version', w.version, 'currency', w.currency,
       'controls', wallet_controls_json(w),
       'holds', coalesce((select jsonb_agg(call_hold_json(c))
                  from calls c
                 where c.org_id = w.org_id and c.hold_state = 'held' and c.hold_expires_at > now()),
                 '[]'::jsonb))
       from wallets w where w.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
