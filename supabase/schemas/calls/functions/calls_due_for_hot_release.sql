-- calls_due_for_hot_release(timestamp with time zone,integer,timestamp with time zone,text)
--
-- ---------------------------------------------------------------------------------------------
-- calls_due_for_hot_release: one page of the settled calls whose Redis hold may still count
-- (issue 22, item 1): the release after the charge failed, or a repair gave up, and nothing had
-- retried it, so the entry kept counting until it expired (up to 12 h) while the wallet was full.
-- Inputs:  now, page size (1..1000), the cursor: hold_expires_at and call_id of the last row of
--          the previous page (both null for the first page; the exact text this function
--          returned).
-- Output:  {settled: [{call_id, org_id, hold_expires_at}]} ordered by (hold_expires_at, call_id):
--          settled calls not yet confirmed released in Redis (hot_released_at null) whose hold
--          has not expired at p_now. A page shorter than the page size is the last one.
-- Effects: rows of that list whose hold expired at p_now are stamped (hot_released_at := p_now):
--          every hold script purges an expired entry, so nothing of theirs is left in Redis, and
--          the partial index calls_hot_release_due stays the size of the work still to do.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206203711_settled_holds_released.
--
-- Called by: shared/calls/call-store.ts (workers/call-sweeper.ts).
CREATE OR REPLACE FUNCTION public.calls_due_for_hot_release(p_now timestamp with time zone, p_limit integer, p_after_expires_at timestamp with time zone, p_after_call_id text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  if (p_after_expires_at is null) <> (p_after_call_id is null) then
    raise exception 'calls_due_for_hot_release: the cursor needs both hold_expires_at and call_id, or neither'
      using errcode = '22023';
  end if;
  if p_after_expires_at is null then
    update calls set hot_released_at = p_now
     where settled_at is not null and hot_released_at is null and hold_expires_at <= p_now;
  end if;
  return jsonb_build_object(
    'settled', coalesce((select jsonb_agg(jsonb_build_object(
         'call_id', x.call_id, 'org_id', x.org_id, 'hold_expires_at', x.hold_expires_at)
         order by x.hold_expires_at, x.call_id)
       from (select c.call_id, c.org_id, c.hold_expires_at from calls c
              where c.settled_at is not null and c.hot_released_at is null
                and c.hold_expires_at > p_now
                and (p_after_expires_at is null
                     or (c.hold_expires_at, c.call_id) > (p_after_expires_at, p_after_call_id))
              order by c.hold_expires_at, c.call_id
              limit least(greatest(p_limit, 1), 1000)) x), '[]'::jsonb));
end $function$;
