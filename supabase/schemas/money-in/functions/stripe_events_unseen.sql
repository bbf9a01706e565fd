-- stripe_events_unseen(text[])
--
-- ---------------------------------------------------------------------------------------------
-- stripe_events_unseen: which of these Stripe event ids no webhook (nor an earlier catch-up) has
-- recorded. The catch-up (shared/money-in/stripe-catch-up.ts) lists Stripe's recent events and
-- applies only these, through the same functions a webhook uses, which record each event id in
-- the transaction of its money effect: an event applied twice is a duplicate there, whatever
-- this answered.
-- Inputs:  at most 1000 event ids.
-- Output:  {unseen: [event id, …]} in the order given.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001500_stripe_events_catch_up.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.stripe_events_unseen(p_event_ids text[])
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if coalesce(cardinality(p_event_ids), 0) > 1000 then
    raise exception 'stripe_events_unseen: at most 1000 ids' using errcode = '22023';
  end if;
  return jsonb_build_object('unseen', coalesce((
    select jsonb_agg(x.id order by x.i)
      from unnest(p_event_ids) with ordinality x(id, i)
     where not exists (select 1 from stripe_events e where e.event_id = x.id)), '[]'::jsonb));
end $function$;
