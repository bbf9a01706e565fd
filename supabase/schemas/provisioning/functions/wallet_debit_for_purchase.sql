-- wallet_debit_for_purchase(uuid,bigint,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- wallet_debit_for_purchase: as before, and refused (nothing debited) when the wallet is frozen
-- or a spend limit would be passed: {outcome: wallet_frozen} | {outcome: limit_reached, limit}.
-- A replayed key still returns its debit.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger, 20261130001100_money_in, 20261130001200_spend_controls (the last is current).
--
-- Called by: shared/db/rpc.ts, shared/ledger/ledger-store.ts.
CREATE OR REPLACE FUNCTION public.wallet_debit_for_purchase(p_org_id uuid, p_amount bigint, p_idempotency_key text, p_reference text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  r jsonb;
  w wallets%rowtype;
begin
  if p_amount is null or p_amount < 1 then
    raise exception 'wallet_debit_for_purchase: amount % must be positive', p_amount
      using errcode = '22023';
  end if;
  select * into w from wallets where org_id = p_org_id for update;
  if found and not exists (select 1 from ledger_entries
                            where org_id = p_org_id and idempotency_key = p_idempotency_key) then
    r := wallet_purchase_refusal(w, p_amount, now());
    if r is not null then
      return r;
    end if;
  end if;
  r := ledger_post(p_org_id, 'phone_number', -p_amount, p_idempotency_key, p_reference,
                   null, true);
  if r->>'outcome' in ('posted', 'replayed') then
    r := r || jsonb_build_object('outcome', 'debited', 'replayed', r->>'outcome' = 'replayed');
  end if;
  return r;
end $function$;
