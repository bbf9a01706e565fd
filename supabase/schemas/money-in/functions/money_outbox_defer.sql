-- money_outbox_defer(bigint,integer)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_defer: an event delivery row whose job is queued or retrying is looked at again
-- later, not marked done: the row is done only once its job has finished (delivered, nothing to
-- deliver, or its attempts used up). Until then the relay comes back to it every
-- p_seconds and queues the job again if Redis lost it; before, the row was done as soon as the
-- job was queued, and a lost job lost the customer's webhook for good.
-- Inputs:  the row's id; the seconds until the relay looks at it again (1..86400).
-- Output:  {outcome: deferred | unchanged} (unchanged: done already, or not an event delivery)
-- Effects: the row's lease is cleared (a deferral is not a lapsed lease) and next_attempt_at set.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207001400_outbox_event_rows_done_when_delivered.
--
-- Called by: workers/money-in-worker.ts (through shared/money-in/money-in-store.ts).
CREATE OR REPLACE FUNCTION public.money_outbox_defer(p_id bigint, p_seconds integer)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  with d as (
    update money_outbox
       set claimed_until = null,
           next_attempt_at = now() + make_interval(secs => least(greatest(p_seconds, 1), 86400))
     where id = p_id and done_at is null and task = 'deliver_event'
    returning id)
  select jsonb_build_object('outcome', case when exists (select 1 from d) then 'deferred' else 'unchanged' end)
$function$;
