-- wallet_usage(uuid,date,date)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_usage: an organisation's usage per UTC day (GET /api/wallet/usage, CONTRACT §12).
-- Inputs:  org, first and last day (inclusive, UTC calendar days, at most 366 days; the API
--          refuses anything else with 400 before asking, and this raises 22023 if asked).
-- Output:  {outcome: found, currency, days: [{date, calls: {count, seconds, amount},
--           numbers: {amount}, top_ups: {amount}, refunds: {amount}}]} with every day of the range,
--          oldest first, zeros included | {outcome: not_found} (no wallet).
--          Each amount is the sum of that day's ledger entries of the bucket's kinds
--          (ledger_kinds(), the one kind→bucket map), signed as in the ledger (debits negative),
--          by the entry's created_at in UTC. calls.count is the number of call charges that day;
--          calls.seconds the sum of their billed seconds, each rounded up to a whole second (a
--          charge whose seconds were never recorded counts 0).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts; ledger_kinds() an object since
-- 20261206211105_ledger_kinds_object.
--
-- Called by: shared/usage/usage-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_usage(p_org_id uuid, p_from date, p_to date)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_currency text;
begin
  if p_from is null or p_to is null or p_to < p_from or p_to - p_from >= 366 then
    raise exception 'wallet_usage: % .. % is not a range of 1 to 366 days', p_from, p_to using errcode = '22023';
  end if;
  select currency into v_currency from wallets where org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'found', 'currency', v_currency, 'days', (
    select jsonb_agg(jsonb_build_object(
             'date', to_char(d.day, 'YYYY-MM-DD'),
             'calls', jsonb_build_object('count', coalesce(a.calls_count, 0),
                                         'seconds', coalesce(a.calls_seconds, 0),
                                         'amount', coalesce(a.calls_amount, 0)),
             'numbers', jsonb_build_object('amount', coalesce(a.numbers_amount, 0)),
             'top_ups', jsonb_build_object('amount', coalesce(a.top_ups_amount, 0)),
             'refunds', jsonb_build_object('amount', coalesce(a.refunds_amount, 0)))
           order by d.day)
      from generate_series(p_from, p_to, interval '1 day') as d(day)
      left join (
        select (e.created_at at time zone 'UTC')::date as day,
               count(*) filter (where (k.info->>'usage_bucket') = 'calls') as calls_count,
               (sum(ceil(coalesce(r.billed_seconds, 0))) filter (where (k.info->>'usage_bucket') = 'calls'))::bigint as calls_seconds,
               (sum(e.amount) filter (where (k.info->>'usage_bucket') = 'calls'))::bigint as calls_amount,
               (sum(e.amount) filter (where (k.info->>'usage_bucket') = 'numbers'))::bigint as numbers_amount,
               (sum(e.amount) filter (where (k.info->>'usage_bucket') = 'top_ups'))::bigint as top_ups_amount,
               (sum(e.amount) filter (where (k.info->>'usage_bucket') = 'refunds'))::bigint as refunds_amount
          from ledger_entries e
          join jsonb_each(ledger_kinds()) k(kind, info) on k.kind = e.kind
          left join call_reports r on e.kind = 'call' and r.charge_entry_id = e.id
         where e.org_id = p_org_id
           and e.created_at >= p_from::timestamp at time zone 'UTC'
           and e.created_at < (p_to + 1)::timestamp at time zone 'UTC'
         group by 1) a on a.day = d.day::date));
end $function$;
