-- money_outbox_claim(integer,integer)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_claim(p_limit integer, p_lease_seconds integer)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  with picked as (
    select id from money_outbox
     where done_at is null and (claimed_until is null or claimed_until < now())
     order by id
     limit least(greatest(p_limit, 1), 1000)
     for update skip locked),
  claimed as (
    update money_outbox o set claimed_until = now() + make_interval(secs => p_lease_seconds)
      from picked where o.id = picked.id
    returning o.id, o.org_id, o.task, o.event_id)
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'org_id', org_id, 'task', task, 'event_id', event_id) order by id), '[]'::jsonb))
    from claimed
$function$;
