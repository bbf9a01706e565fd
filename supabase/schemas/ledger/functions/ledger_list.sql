-- ledger_list(uuid,bigint,integer)
--
-- Newest first, keyset-paginated by entry id (p_before_id null = from the newest).
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.ledger_list(p_org_id uuid, p_before_id bigint, p_limit integer)
 RETURNS jsonb
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
  select jsonb_build_object('items', coalesce(jsonb_agg(jsonb_build_object(
           'id', e.id, 'kind', e.kind, 'amount', e.amount, 'balance_before', e.balance_before,
           'balance_after', e.balance_after, 'reference', e.reference,
           'created_at', e.created_at) order by e.id desc), '[]'::jsonb))
    from (select * from ledger_entries
           where org_id = p_org_id and (p_before_id is null or id < p_before_id)
           order by id desc
           limit least(greatest(p_limit, 1), 1000)) e
$function$;
