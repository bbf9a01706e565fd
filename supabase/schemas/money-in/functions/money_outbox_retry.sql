-- money_outbox_retry(bigint,integer,text,integer)
--
-- ---------------------------------------------------------------------------------------------
-- money_outbox_retry: the attempt a job carried failed without an answer (Stripe unreachable,
-- 5xx, a timeout): the row stays open and is due again after a backoff, decided here, not by
-- the job (which may be lost with Redis).
-- Inputs:  the row and the attempt the job carried; what went wrong (stored, at most 500
--          characters; the caller passes no secrets); the longest wait, in seconds.
-- Output:  {outcome: retrying, attempt, retry_in_ms} | {outcome: stale} (the row was answered
--          or claimed again since: nothing changes).
-- Effects: the lease is released and next_attempt_at = now + min(max, 2^(attempt-1) s), less up
--          to half at random, so wallets stranded by one outage do not all come back at once.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261207000100_recharge_outbox_functions.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.money_outbox_retry(p_id bigint, p_attempt integer, p_error text, p_max_backoff_seconds integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_wait interval;
begin
  v_wait := make_interval(secs => least(greatest(p_max_backoff_seconds, 1)::double precision,
                                        power(2, least(greatest(p_attempt, 1), 30) - 1))
                                  * (0.5 + random() / 2));
  update money_outbox
     set claimed_until = null, next_attempt_at = now() + v_wait, last_error = left(p_error, 500)
   where id = p_id and done_at is null and attempts = p_attempt;
  if not found then
    return jsonb_build_object('outcome', 'stale');
  end if;
  return jsonb_build_object('outcome', 'retrying', 'attempt', p_attempt,
    'retry_in_ms', ceil(extract(epoch from v_wait) * 1000)::bigint);
end $function$;
