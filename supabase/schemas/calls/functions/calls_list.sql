-- calls_list(uuid,timestamp with time zone,text,integer,bigint)
--
-- ---------------------------------------------------------------------------------------------
-- calls_list: one page of an organisation's calls, newest first (GET /api/calls, CONTRACT §12).
-- Inputs:  org; the keyset cursor (admitted_at and call_id of the last item of the previous page,
--          exactly as this function returned them; both null for the first page); page size
--          (1..1000); the rate per minute of a call with no rate of its own (admitted before rates
--          were kept: CALL_RATE_PER_MINUTE, from Config.pricing — no default price lives in SQL).
-- Output:  {items: [{call_id, admitted_at, direction, from, to, started_at, ended_at, seconds,
--           amount, rate_per_minute, status}]} ordered by (admitted_at, call_id) descending.
--          One item per calls row (every call that passed the gate), and one per call charged
--          with no calls row (call_reports.unrecorded: admitted in fail-open mode, or whose hold
--          record never reached Postgres; charged, so listed), whose admitted_at is its report's
--          arrival (received_at: the only time of its own it has; its list position). direction: 'outbound' for a
--          call the service placed (POST /api/calls, CONTRACT §10: it has an outbound_calls row,
--          keyed by the same call id), else 'inbound'. from/to: the report's numbers (null until
--          the report came; an outbound call's `to` is its destination before). started_at/ended_at: the
--          report's when it has both and they are in order, else our own record (admission, the
--          ended status-update). seconds: the billed seconds rounded up to a whole second, null
--          until billed. amount: the charge's ledger amount (signed: a charge is negative; 0 for a
--          call of no seconds), null until billed. rate_per_minute: the rate the charge used, else
--          the rate fixed at the call's admission (calls.rate_per_minute: its destination's for an
--          outbound call, its number's for an inbound one), else p_rate_per_minute.
--          status: in_progress | ended (its charge still to come) | billed |
--          not_billed (Vapi had no record of the call: nothing was charged).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts; replaced in
-- 20261207001200_merge_outbound_with_main (direction and the call's own rate) and
-- 20261207023500_calls_list_unrecorded_calls (current: the reports of calls with no row).
--
-- Called by: shared/usage/usage-store.ts.
CREATE OR REPLACE FUNCTION public.calls_list(p_org_id uuid, p_before_admitted_at timestamp with time zone, p_before_call_id text, p_limit integer, p_rate_per_minute bigint)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  -- The calls that passed the gate (calls rows, by admission) and the charged calls that had none
  -- (call_reports.unrecorded, by the report's arrival; one whose row came after its charge is
  -- listed once, by its row), merged newest first: each branch takes a page by its own index
  -- (the calls one exactly as before), the merge the newest of the two pages.
  with listed as (
    select u.call_id, u.listed_at
      from ((select c.call_id, c.admitted_at as listed_at
               from calls c
              where c.org_id = p_org_id
                and (p_before_admitted_at is null
                     or (c.admitted_at, c.call_id) < (p_before_admitted_at, p_before_call_id))
              order by c.admitted_at desc, c.call_id desc
              limit least(greatest(p_limit, 1), 1000))
            union all
            (select r.call_id, r.received_at
               from call_reports r
              where r.org_id = p_org_id and r.unrecorded
                and (p_before_admitted_at is null
                     or (r.received_at, r.call_id) < (p_before_admitted_at, p_before_call_id))
                and not exists (select 1 from calls c where c.call_id = r.call_id)
              order by r.received_at desc, r.call_id desc
              limit least(greatest(p_limit, 1), 1000))) u
     order by u.listed_at desc, u.call_id desc
     limit least(greatest(p_limit, 1), 1000)
  )
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'call_id', l.call_id,
           'admitted_at', l.listed_at,
           'direction', case when o.call_id is not null then 'outbound' else 'inbound' end,
           'from', r.from_number,
           'to', coalesce(r.to_number, o.destination),
           'started_at', case when r.started_at is not null and r.ended_at >= r.started_at
                              then r.started_at else c.admitted_at end,
           'ended_at', case when r.started_at is not null and r.ended_at >= r.started_at
                            then r.ended_at else c.ended_at end,
           'seconds', case when e.id is not null then ceil(coalesce(r.billed_seconds, 0))::bigint end,
           'amount', e.amount,
           'rate_per_minute', coalesce(r.billed_rate_per_minute, c.rate_per_minute, p_rate_per_minute),
           'status', case when e.id is not null then 'billed'
                          when c.settled_by = 'not_found' then 'not_billed'
                          when c.ended_at is not null or c.hold_state = 'released' or r.call_id is not null then 'ended'
                          else 'in_progress' end)
         order by l.listed_at desc, l.call_id desc), '[]'::jsonb))
    from listed l
    left join calls c on c.call_id = l.call_id
    left join call_reports r on r.call_id = l.call_id
    left join outbound_calls o on o.call_id = l.call_id
    left join ledger_entries e on e.id = coalesce(c.charge_entry_id, r.charge_entry_id)
$function$;
