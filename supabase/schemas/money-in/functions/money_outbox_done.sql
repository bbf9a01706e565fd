-- money_outbox_done(bigint)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_done: an event delivery row is done once its job has finished (the job retries the
-- delivery itself; until it finishes the relay defers the row, money_outbox_defer, and queues the
-- job again if it was lost), and a rent retry row once its job is queued (retry_rent: the rent
-- sweep retries at least daily whatever happens to its job). A recharge row is never done here: it stays open until its recharge is
-- answered (auto_recharge_claim, auto_recharge_submitted, top_up_fail,
-- stripe_payment_succeeded), so a relay that still calls this for one changes nothing.
-- Output:  {outcome: done | unchanged}
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130001100_money_in, 20261207000100_recharge_outbox_functions,
-- 20261207000400_merge_rental (the last is current).
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_done(p_id bigint)
 RETURNS jsonb
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  with d as (
    update money_outbox set done_at = now(), claimed_until = null
     where id = p_id and done_at is null and task in ('deliver_event', 'retry_rent')
    returning id)
  select jsonb_build_object('outcome', case when exists (select 1 from d) then 'done' else 'unchanged' end)
$function$;
