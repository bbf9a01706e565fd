-- wallet_charge_call(uuid,text,bigint,text)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_charge_call: bills a call that happened, once per call id.
-- Inputs:  org, Vapi call id, amount (>= 0, computed by the caller from the one rate), reference.
-- Output:  outcome charged (replayed, beyond_debt_limit) | not_found | key_conflict.
-- Effects: one call entry per call id, recorded even when it takes the balance below zero or
--          beyond the debt limit (failure mode 4); zero-second calls record a zero entry.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_charge_call(p_org_id uuid, p_call_id text, p_amount bigint, p_reference text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r jsonb;
begin
  if p_amount is null or p_amount < 0 then
    raise exception 'wallet_charge_call: amount % must be >= 0', p_amount using errcode = '22023';
  end if;
  if p_call_id is null or length(p_call_id) not between 1 and 200 then
    raise exception 'wallet_charge_call: bad call id' using errcode = '22023';
  end if;
  r := ledger_post(p_org_id, 'call', -p_amount, 'call:' || p_call_id, p_reference, null, false);
  if r->>'outcome' in ('posted', 'replayed') then
    r := r || jsonb_build_object(
      'outcome', 'charged', 'replayed', r->>'outcome' = 'replayed',
      'beyond_debt_limit', (r->>'balance_after')::bigint < -(r->>'debt_limit')::bigint);
  end if;
  return r;
end $function$;
