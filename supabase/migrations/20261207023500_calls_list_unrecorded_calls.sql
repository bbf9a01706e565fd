-- calls_list_unrecorded_calls: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: call_settle_core, calls_list.

-- call_settle_core(text,bigint,integer,text)
--
-- (from 20261207001100_call_rates_functions)
-- The charge is call_rate_cost at the rate fixed at the call's admission (its calls row): connect
-- fee + ceil(billable × rate ÷ 60), billable raised to the minimum and then up to whole
-- increments, rounded once. A call with no row is charged at the rate row of the number it
-- called (call_reports.to_number, call_rate_match: what its admission would have fixed), else, as a
-- row admitted before rates were kept, at p_rate_per_minute (CALL_RATE_PER_MINUTE) with no fee,
-- no minimum, increments of 1 s.
--
-- The settlement of one call (its report or the sweeper's finding) — the body that was
-- call_settle until 20261130001200_spend_controls renamed it: call_settle wraps it and adds the
-- wallet's `controls` to its answer (read in the same transaction, so the same version).
-- Internal: executable only by its owner.
--
-- Seconds when the report has endedAt but neither startedAt nor durationSeconds (issue 22 item
-- 10): from the call's admission (calls.admitted_at) to that endedAt, clamped to 0..bound; basis
-- admission_to_report_ended, still counted as implausible (reason missing) for review. Records
-- the seconds and rate it billed (call_reports.billed_seconds, billed_rate_per_minute: the call's
-- own rate per minute, fixed at its admission, else its number's, else p_rate_per_minute) for the
-- calls list and usage, and whether the call had no calls row (call_reports.unrecorded: the calls
-- list lists such a call from its report).
--
-- Defined in 20261130000600_call_settle as call_settle; renamed in 20261130001200_spend_controls;
-- replaced in 20261206204000_settle_from_admission_to_ended, 20261206210100_usage_statements_receipts,
-- 20261207000300_merge_usage_with_faults, 20261207001100_call_rates_functions,
-- 20261207001200_merge_outbound_with_main, 20261207021856_unrecorded_calls_rated_by_number and
-- 20261207023500_calls_list_unrecorded_calls (current).
--
-- Called by: call_settle().
CREATE OR REPLACE FUNCTION public.call_settle_core(p_call_id text, p_rate_per_minute bigint, p_grace_seconds integer, p_settled_by text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  w wallets%rowtype;
  r call_reports%rowtype;
  c calls%rowtype;
  e ledger_entries%rowtype;
  v_has_call boolean;
  v_bound numeric;        -- seconds
  v_reported numeric;     -- seconds, as the report gives them (null: missing)
  v_seconds numeric;      -- seconds billed
  v_basis text;
  v_reason text;
  v_rate bigint;          -- per minute: the call's own (fixed at admission), else its number's, else p_rate_per_minute
  v_match jsonb;          -- a call with no row: the rate row of the number it called (call_rate_match)
  v_amount bigint;
  v_posted jsonb;
  v_replayed boolean;
begin
  if p_call_id is null or length(p_call_id) not between 1 and 200 then
    raise exception 'call_settle: bad call id' using errcode = '22023';
  end if;
  if p_rate_per_minute is null or p_rate_per_minute <= 0 then
    raise exception 'call_settle: rate % must be > 0', p_rate_per_minute using errcode = '22023';
  end if;
  if p_grace_seconds is null or p_grace_seconds < 0 then
    raise exception 'call_settle: grace % must be >= 0', p_grace_seconds using errcode = '22023';
  end if;
  if p_settled_by is null or p_settled_by not in ('report', 'sweeper') then
    raise exception 'call_settle: settled_by % must be report or sweeper', p_settled_by
      using errcode = '22023';
  end if;

  -- The report's organisation never changes once recorded: find it, then lock its wallet, then
  -- read everything again under that lock (the lock order of every money function).
  select org_id into v_org from call_reports where call_id = p_call_id;
  if not found then
    return jsonb_build_object('outcome', 'no_report');
  end if;
  if v_org is null then
    return jsonb_build_object('outcome', 'unattributed');
  end if;
  select * into w from wallets where org_id = v_org for update;
  if not found then
    return jsonb_build_object('outcome', 'no_wallet', 'org_id', v_org);
  end if;
  select * into r from call_reports where call_id = p_call_id for update;

  if r.billed_at is not null then
    select * into e from ledger_entries where id = r.charge_entry_id;
    return jsonb_build_object(
      'outcome', 'already_billed', 'org_id', v_org, 'entry_id', e.id, 'amount', -e.amount,
      'replayed', true, 'balance', w.balance, 'version', w.version, 'currency', w.currency);
  end if;

  select * into c from calls where call_id = p_call_id for update;
  v_has_call := found;
  v_bound := (case when v_has_call then c.max_duration_seconds else 43200 end) + p_grace_seconds;

  -- The report's own figure: timestamps first, else durationSeconds (exact: numeric epochs).
  if r.started_at is not null and r.ended_at is not null then
    v_reported := extract(epoch from r.ended_at) - extract(epoch from r.started_at);
  else
    v_reported := r.duration_seconds;
  end if;

  if v_reported is null then
    v_reason := 'missing';
  elsif v_reported < 0 then
    v_reason := 'negative';
  elsif v_reported > v_bound then
    v_reason := 'beyond_bound';
  end if;

  if v_reason is null then
    v_seconds := v_reported;
    v_basis := 'report';
  elsif v_reason = 'missing' and v_has_call and r.ended_at is not null then
    -- Vapi gave the end but no start (a call object with endedAt and no startedAt, as the sweeper
    -- reads it): from our admission to Vapi's endedAt, never to the report's arrival (for the
    -- sweeper, the sweep time, long after the call: that billed a short call its whole bound).
    v_basis := 'admission_to_report_ended';
    v_seconds := least(v_bound, greatest(0::numeric,
      extract(epoch from r.ended_at) - extract(epoch from c.admitted_at)));
  elsif v_has_call then
    -- Our own record: admission to the ended status-update, else to the report's arrival.
    v_basis := case when c.ended_at is not null then 'admission_to_ended' else 'admission_to_received' end;
    v_seconds := least(v_bound, greatest(0::numeric,
      extract(epoch from coalesce(c.ended_at, r.received_at)) - extract(epoch from c.admitted_at)));
  else
    v_basis := 'none';
    v_seconds := 0;
  end if;

  -- At the call's own rate, rounded once (exact numeric). A call with no row (admitted in
  -- fail-open mode, or a Redis-path hold record that never reached Postgres) is rated as its
  -- admission would have rated it: by the number called (call_reports.to_number: our number for
  -- an inbound call, the destination for an outbound one), whose prefix row may carry a fee, a
  -- minimum and increments; else at p_rate_per_minute. Before, it was always p_rate_per_minute:
  -- a call to a pricier number was charged the default rate.
  if not v_has_call then
    v_match := call_rate_match(r.to_number);
  end if;
  if v_has_call and c.rate_per_minute is not null then
    v_rate := c.rate_per_minute;
    v_amount := call_rate_cost(v_seconds, c.rate_per_minute, c.connect_fee, c.minimum_seconds, c.increment_seconds);
  elsif v_match is not null then
    v_rate := (v_match->>'rate_per_minute')::bigint;
    v_amount := call_rate_cost(v_seconds, v_rate, (v_match->>'connect_fee')::bigint,
      (v_match->>'minimum_seconds')::integer, (v_match->>'increment_seconds')::integer);
  else
    v_rate := p_rate_per_minute;
    v_amount := call_rate_cost(v_seconds, p_rate_per_minute, 0, 0, 1);
  end if;

  -- The hold ends before the charge is posted, in this same transaction: ledger_post looks at
  -- `available` for alerts and auto-recharge, and must not count the call twice (its hold and
  -- its charge). Nobody else sees the state in between (the wallet row is locked).
  update calls set settled_by = p_settled_by, settled_at = now(),
                   hold_state = 'released', released_at = coalesce(released_at, now()),
                   release_cause = coalesce(release_cause, 'billed')
   where call_id = p_call_id and settled_at is null;

  -- An entry under the call's key may exist from an earlier two-step settlement that crashed
  -- before stamping the report: it is the call's charge, reused as it is.
  select * into e from ledger_entries where org_id = v_org and idempotency_key = 'call:' || p_call_id;
  if found then
    v_replayed := true;
  else
    v_posted := ledger_post(v_org, 'call', -v_amount, 'call:' || p_call_id,
      format('call %s: %s ms', p_call_id, round(v_seconds * 1000, 3)), null, false);
    if v_posted->>'outcome' not in ('posted', 'replayed') then
      raise exception 'call_settle: unexpected ledger outcome %', v_posted using errcode = 'XX000';
    end if;
    select * into e from ledger_entries where id = (v_posted->>'entry_id')::bigint;
    select * into w from wallets where org_id = v_org;
    v_replayed := v_posted->>'outcome' = 'replayed';
  end if;

  -- With what the charge was computed from: the calls list and the usage's seconds read them.
  update call_reports set billed_at = now(), charge_entry_id = e.id,
                          billed_seconds = v_seconds, billed_rate_per_minute = v_rate,
                          unrecorded = not v_has_call
   where call_id = p_call_id;
  -- The call's charge (also for a call the sweeper settled as unknown to Vapi whose report came
  -- after all).
  update calls set charge_entry_id = e.id
   where call_id = p_call_id and charge_entry_id is null;

  return jsonb_build_object(
    'outcome', 'charged', 'org_id', v_org, 'amount', -e.amount,
    'billed_ms', round(v_seconds * 1000, 3), 'seconds_basis', v_basis,
    'implausible', v_reason is not null, 'implausible_reason', v_reason,
    'entry_id', e.id, 'replayed', v_replayed,
    'beyond_debt_limit', e.balance_after < -w.debt_limit, 'balance_after', e.balance_after,
    'balance', w.balance, 'version', w.version, 'currency', w.currency);
end $function$;

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
