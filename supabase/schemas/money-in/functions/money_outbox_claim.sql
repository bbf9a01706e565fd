-- money_outbox_claim(integer,integer)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_claim: the relay's lease on due outbox rows (open, next_attempt_at come, no live
-- lease), oldest first, skipping rows another relay holds.
-- Output:  {items: [{id, org_id, task, event_id, attempt, lease_expired}]}: `attempt` is this
--          claim's number, which the job carrying it names (auto_recharge_claim,
--          money_outbox_retry); `lease_expired`: an earlier claim's carrier never reported (a
--          lost job, a dead worker) and its lease lapsed.
-- Effects: claimed_until = now + p_lease_seconds, attempts + 1. Nothing is marked done here: an
--          event delivery is done once queued (money_outbox_done), a recharge when answered.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_claim(p_limit integer, p_lease_seconds integer)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  with picked as (
    select id, claimed_until is not null as lease_expired from money_outbox
     where done_at is null and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
     order by id
     limit least(greatest(p_limit, 1), 1000)
     for update skip locked),
  claimed as (
    update money_outbox o
       set claimed_until = now() + make_interval(secs => greatest(p_lease_seconds, 0)), attempts = o.attempts + 1
      from picked where o.id = picked.id
    returning o.id, o.org_id, o.task, o.event_id, o.attempts, picked.lease_expired)
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'org_id', org_id, 'task', task, 'event_id', event_id,
           'attempt', attempts, 'lease_expired', lease_expired) order by id), '[]'::jsonb))
    from claimed
$function$;
