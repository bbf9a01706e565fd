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
