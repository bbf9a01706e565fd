-- ledger_kinds_object: written by `npm run db:migration` from supabase/schemas/ (the current definitions and
-- their reasons live there). Functions: ledger_kinds, wallet_statement, wallet_usage.

drop function ledger_kinds();

-- ledger_kinds()
--
-- ---------------------------------------------------------------------------------------------
-- ledger_kinds: every ledger entry kind, the usage bucket it is counted in and the words a
-- statement describes it with. THE one place a kind is mapped to a bucket (CONTRACT §12):
-- wallet_usage sums each day's entries by this bucket, and wallet_statement describes each row
-- with this description; test/usage/ledger-kinds.test.ts fails when the ledger allows a kind
-- (ledger_entries_kind_sign) that is not listed here.
-- Output:  {<kind>: {usage_bucket, description}} for every kind; usage_bucket one of
--          calls     — call charges;
--          numbers   — what phone numbers cost: the purchase (phone_number) and the monthly rent
--                      (phone_number_rent, CONTRACT §11, listed before the ledger allows it);
--          refunds   — money given back to the wallet for something it paid for (a purchase
--                      refunded, phone_number_refund);
--          top_ups   — money in through Stripe or an operator (topup), less what Stripe took back
--                      from it (topup_refund, dispute) and gave back again (dispute_reversal).
--          Every kind is in exactly one bucket, so a day's four buckets add up to that day's net
--          movement of the wallet.
-- Effects: none (immutable).
-- ---------------------------------------------------------------------------------------------
--
-- Readers join it as `jsonb_each(ledger_kinds()) k(kind, info)`. A jsonb object rather than a set
-- of rows: a set-returning function is not an RPC the Data API serves (tools and the PostgREST
-- stand-in of test/access/rest-api-roles only know scalar results), and this one needs none.
--
-- Defined in 20261206210100_usage_statements_receipts as a set of rows; an object since
-- 20261206211105_ledger_kinds_object.
--
-- Called by: wallet_usage(), wallet_statement().
CREATE OR REPLACE FUNCTION public.ledger_kinds()
 RETURNS jsonb
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object(
    'call',                jsonb_build_object('usage_bucket', 'calls',   'description', 'Call'),
    'phone_number',        jsonb_build_object('usage_bucket', 'numbers', 'description', 'Phone number purchase'),
    'phone_number_rent',   jsonb_build_object('usage_bucket', 'numbers', 'description', 'Phone number monthly rent'),
    'phone_number_refund', jsonb_build_object('usage_bucket', 'refunds', 'description', 'Phone number purchase refunded'),
    'topup',               jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Top-up'),
    'topup_refund',        jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Top-up refunded to the card'),
    'dispute',             jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Card payment disputed'),
    'dispute_reversal',    jsonb_build_object('usage_bucket', 'top_ups', 'description', 'Dispute decided for you: money returned'))
$function$;

-- wallet_statement(uuid,date,bigint,bigint,integer)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_statement: one calendar month (UTC) of an organisation's ledger, for the CSV statement
-- (GET /api/wallet/statement, CONTRACT §12), read page by page.
-- Inputs:  org; the month's first day; p_through_id: null for the first page, then the
--          through_id the first page returned; p_after_id: the last entry id of the previous page
--          (null for the first); page size 1..5000.
-- Output:  {outcome: found, currency, entries: [{id, created_at, kind, reference, description,
--           amount, balance_after}]} ordered by id (the ledger's own order, in which each entry
--          starts where the previous one ended), and on the first page also
--          {through_id, opening, closing, count, period_start, period_end}
--          | {outcome: not_found} (no wallet).
--          The month holds the entries whose created_at (UTC) falls in it; opening is the sum of
--          every entry before the month, closing = opening + the sum of the month's entries, so
--          closing − opening is exactly the sum of the rows. balance_after is the entry's own
--          column (ledger_post wrote it under the wallet lock). description is ledger_kinds()'s.
-- A consistent cut: the first page takes the wallet row FOR SHARE (every ledger_post holds it FOR
-- UPDATE from before its entry's id is drawn until it commits), so once it is granted no entry
-- is in flight, through_id = the newest entry id, and every later page reads only ids up to it:
-- the rows, the opening and the closing describe one state of the ledger even while calls are
-- charged during the export. (The share lock is held for the first page's few index reads.)
-- Effects: none (the share lock ends with the call's transaction).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts; ledger_kinds() an object since
-- 20261206211105_ledger_kinds_object.
--
-- Called by: shared/usage/usage-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_statement(p_org_id uuid, p_month date, p_through_id bigint, p_after_id bigint, p_limit integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_currency text;
  v_start timestamptz;
  v_end timestamptz;
  v_through bigint := p_through_id;
  v_opening bigint;
  v_moved bigint;
  v_count bigint;
  v_head jsonb := '{}'::jsonb;
begin
  if p_month is null or p_month <> date_trunc('month', p_month)::date then
    raise exception 'wallet_statement: % is not the first day of a month', p_month using errcode = '22023';
  end if;
  if p_limit is null or p_limit not between 1 and 5000 then
    raise exception 'wallet_statement: page size % out of 1..5000', p_limit using errcode = '22023';
  end if;
  v_start := p_month::timestamp at time zone 'UTC';
  v_end := (p_month + interval '1 month')::timestamp at time zone 'UTC';
  if v_through is null then
    select currency into v_currency from wallets where org_id = p_org_id for share;
    if not found then
      return jsonb_build_object('outcome', 'not_found');
    end if;
    select coalesce(max(id), 0) into v_through from ledger_entries where org_id = p_org_id;
    select coalesce(sum(amount), 0) into v_opening
      from ledger_entries where org_id = p_org_id and created_at < v_start and id <= v_through;
    select coalesce(sum(amount), 0), count(*) into v_moved, v_count
      from ledger_entries
     where org_id = p_org_id and created_at >= v_start and created_at < v_end and id <= v_through;
    v_head := jsonb_build_object('through_id', v_through, 'opening', v_opening,
                                 'closing', v_opening + v_moved, 'count', v_count,
                                 'period_start', v_start, 'period_end', v_end);
  else
    select currency into v_currency from wallets where org_id = p_org_id;
    if not found then
      return jsonb_build_object('outcome', 'not_found');
    end if;
  end if;
  return v_head || jsonb_build_object('outcome', 'found', 'currency', v_currency, 'entries', (
    select coalesce(jsonb_agg(jsonb_build_object(
             'id', e.id, 'created_at', e.created_at, 'kind', e.kind, 'reference', e.reference,
             'description', coalesce(ledger_kinds()->e.kind->>'description', e.kind), 'amount', e.amount,
             'balance_after', e.balance_after) order by e.id), '[]'::jsonb)
      from (select * from ledger_entries
             where org_id = p_org_id and created_at >= v_start and created_at < v_end
               and id <= v_through and id > coalesce(p_after_id, 0)
             order by id
             limit p_limit) e));
end $function$;

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
