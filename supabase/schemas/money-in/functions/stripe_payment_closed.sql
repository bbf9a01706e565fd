-- stripe_payment_closed(text,text,uuid,uuid,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- stripe_payment_closed: a top-up that will not be paid through this session or attempt
-- (checkout.session.expired → expired, async_payment_failed / payment_intent.payment_failed →
-- failed). A paid top-up stays paid. An auto-recharge failure counts towards turning it off.
-- Output:  {outcome: closed | already | duplicate | unknown_organisation, top_up, disabled}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.stripe_payment_closed(p_event_id text, p_type text, p_top_up_id uuid, p_org_id uuid, p_status text, p_failure_code text, p_failure_message text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  t top_ups%rowtype;
  r jsonb;
begin
  if p_status not in ('failed', 'expired') then
    raise exception 'stripe_payment_closed: status % is not failed or expired', p_status using errcode = '22023';
  end if;
  if not stripe_event_claim(p_event_id, p_type, 'processing') then
    return jsonb_build_object('outcome', 'duplicate');
  end if;
  select * into t from top_ups where id = p_top_up_id;
  if not found or t.org_id is distinct from p_org_id then
    perform stripe_event_done(p_event_id, 'unknown_organisation', null);
    return jsonb_build_object('outcome', 'unknown_organisation');
  end if;
  r := top_up_fail(t.id, p_status, p_failure_code, p_failure_message);
  perform stripe_event_done(p_event_id, r->>'outcome', t.org_id);
  return r;
end $function$;
