-- top_ups_list(uuid,timestamp with time zone,uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- top_ups_list: one page of an organisation's top-ups, newest first, each with its receipt number
-- once paid (GET /api/wallet/top-ups; the billing page's receipt links, CONTRACT §12).
-- Inputs:  org; the keyset cursor (created_at and id of the last top-up of the previous page,
--          exactly as returned; both null for the first page); page size (1..1000).
-- Output:  {items: [top_up_json(t) + {receipt_number: 'R-000001' | null}]} ordered by
--          (created_at, id) descending.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206210100_usage_statements_receipts.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.top_ups_list(p_org_id uuid, p_before_created_at timestamp with time zone, p_before_id uuid, p_limit integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('items', coalesce(jsonb_agg(
           top_up_json(t) || jsonb_build_object('receipt_number',
             (select receipt_number_text(x.receipt_number) from top_up_receipts x where x.top_up_id = t.id))
         order by t.created_at desc, t.id desc), '[]'::jsonb))
    from top_ups t
   where t.id in (select id from top_ups
                   where org_id = p_org_id
                     and (p_before_created_at is null or (created_at, id) < (p_before_created_at, p_before_id))
                   order by created_at desc, id desc
                   limit least(greatest(p_limit, 1), 1000))
$function$;
