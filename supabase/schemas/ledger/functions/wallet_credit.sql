-- wallet_credit(uuid,bigint,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_credit: a top-up by an operator.
-- Inputs:  org, amount (1..100000000), the client's Idempotency-Key and request fingerprint, reason.
-- Output:  ledger_post's jsonb with outcome credited | not_found | idempotency_key_reused,
--          plus replayed (true when this is the first outcome returned again).
-- Effects: one topup entry per key; the first outcome recorded with it.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_credit(p_org_id uuid, p_amount bigint, p_idempotency_key text, p_fingerprint text, p_reason text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  prior jsonb;
  r jsonb;
begin
  if p_amount is null or p_amount < 1 or p_amount > 100000000 then
    raise exception 'wallet_credit: amount % out of range 1..100000000', p_amount
      using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'credit', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  r := ledger_post(p_org_id, 'topup', p_amount, 'topup:' || p_idempotency_key, p_reason,
                   null, false);
  if r->>'outcome' <> 'posted' then
    raise exception 'wallet_credit: unexpected ledger outcome %', r using errcode = 'XX000';
  end if;
  return idempotency_record(p_org_id, 'credit', p_idempotency_key, p_fingerprint,
                            r || jsonb_build_object('outcome', 'credited'));
end $function$;
