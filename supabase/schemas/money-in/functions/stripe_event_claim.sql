-- stripe_event_claim(text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- stripe_event_claim (internal): records an event id; false when it was recorded before (the
-- insert waits for a concurrent copy's transaction, then sees its row).
-- stripe_event_note: an event with no effect (unhandled type, unknown organisation): recorded
--   once and counted. Output {outcome: recorded | duplicate}.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in.
--
-- Called by: stripe_charge_refunded(), stripe_dispute_event(), stripe_event_note(), stripe_payment_closed(), stripe_payment_succeeded().
CREATE OR REPLACE FUNCTION public.stripe_event_claim(p_event_id text, p_type text, p_outcome text)
 RETURNS boolean
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  insert into stripe_events (event_id, type, outcome) values (p_event_id, p_type, p_outcome)
  on conflict (event_id) do nothing;
  return found;
end $function$;
