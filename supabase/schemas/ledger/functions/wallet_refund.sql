-- wallet_refund(uuid,bigint,text)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_refund: reverses one purchase debit in full, exactly once.
-- Inputs:  org, the debit's entry id, reason.
-- Output:  outcome refunded (replayed = true if it already was) | not_found | not_refundable.
-- Effects: one phone_number_refund entry per debit, guaranteed by the unique reverses_entry_id.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_refund(p_org_id uuid, p_entry_id bigint, p_reason text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  d ledger_entries%rowtype;
  r jsonb;
begin
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  select * into d from ledger_entries where id = p_entry_id and org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if d.kind <> 'phone_number' then
    return jsonb_build_object('outcome', 'not_refundable', 'kind', d.kind);
  end if;
  r := ledger_post(p_org_id, 'phone_number_refund', -d.amount, 'refund:' || d.id, p_reason,
                   d.id, false);
  return r || jsonb_build_object('outcome', 'refunded', 'replayed', r->>'outcome' = 'replayed');
end $function$;
