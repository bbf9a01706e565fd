-- top_up_receipt_get(uuid,uuid)
--
-- ---------------------------------------------------------------------------------------------
-- top_up_receipt_get: the receipt of one paid top-up of one organisation
-- (GET /api/wallet/top-ups/:id/receipt, CONTRACT §12).
-- Output:  {outcome: found, receipt: {receipt_number ('R-000001'), top_up_id, amount, currency,
--           paid_at, card_brand, card_last4}} | {outcome: not_found} (no such top-up, another
--          organisation's, or not paid: a receipt exists only once the payment was credited).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.top_up_receipt_get(p_org_id uuid, p_top_up_id uuid)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select coalesce(
    (select jsonb_build_object('outcome', 'found', 'receipt', jsonb_build_object(
              'receipt_number', receipt_number_text(x.receipt_number), 'top_up_id', x.top_up_id,
              'amount', x.amount, 'currency', x.currency, 'paid_at', x.paid_at,
              'card_brand', x.card_brand, 'card_last4', x.card_last4))
       from top_up_receipts x where x.top_up_id = p_top_up_id and x.org_id = p_org_id),
    jsonb_build_object('outcome', 'not_found'))
$function$;
