-- topup_create(uuid,bigint,text,text)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.topup_create(p_org_id uuid, p_amount bigint, p_idempotency_key text, p_fingerprint text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  prior jsonb;
  t top_ups%rowtype;
begin
  if p_amount is null or p_amount < 1 or p_amount > 100000000 then
    raise exception 'topup_create: amount % out of range', p_amount using errcode = '22023';
  end if;
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'topup', p_idempotency_key, p_fingerprint);
  if prior is not null then
    if prior->>'outcome' = 'created' then
      select * into t from top_ups where id = (prior->>'top_up_id')::uuid;
      return jsonb_build_object('outcome', 'created', 'replayed', true, 'top_up', top_up_json(t));
    end if;
    return prior;
  end if;
  insert into top_ups (org_id, source, amount, currency)
  select p_org_id, 'checkout', p_amount, w.currency from wallets w where w.org_id = p_org_id
  returning * into t;
  perform idempotency_record(p_org_id, 'topup', p_idempotency_key, p_fingerprint,
                             jsonb_build_object('outcome', 'created', 'top_up_id', t.id));
  return jsonb_build_object('outcome', 'created', 'replayed', false, 'top_up', top_up_json(t));
end $function$;
