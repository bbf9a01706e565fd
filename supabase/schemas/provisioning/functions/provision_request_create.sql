-- provision_request_create(uuid,jsonb,text,text,text,text,text,integer)
--
-- Joins two changes to the purchase made side by side: spend controls (20261130001200: a frozen
-- wallet or a spend limit refuses the purchase before the debit, and the answer carries the
-- wallet's controls for the cache) and prices with currencies (20261130001300: the wallet's
-- currency picks the price, or the purchase is refused as currency_not_priced). The later of the
-- two replaced provision_request_create without the other's check; this is both, in the order a
-- customer would want to hear them: a price must exist, then the wallet must be allowed to spend
-- it, then it must have it.
--
-- (from 20261130001300_provisioning_reconcile)
-- Provisioning that never strands a number or a customer (issue 13, docs/provisioning.md):
--   * prices carry their currency: provision_request_create takes the configured prices by
--     currency and refuses a wallet whose currency has none (currency_not_priced), debiting
--     nothing, instead of charging a number priced in pence as cents;
--   * the Vapi id of an import is recorded as soon as it is known, so releases go by id and never
--     by a re-issuable E.164 (failure mode 30);
--   * the sweeper reads its work list by when a row is due (sweep_due_at), page by page with a
--     keyset cursor, and puts off rows it cannot finish now with a backoff (failure mode 29);
--   * the reconciler looks up, for numbers named after requests, who owns what.
-- Prices still come from config.pricing: SQL holds none (failure mode 5).
--
-- Defined in 20261123000200_provisioning, 20261130001100_money_in, 20261130001200_spend_controls, 20261130001300_provisioning_reconcile, 20261130001400_purchase_limits_and_currency (the last is current).
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_create(p_org_id uuid, p_prices jsonb, p_idempotency_key text, p_fingerprint text, p_area_code text, p_country text, p_assistant_id text, p_max_attempts integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  prior jsonb;
  d jsonb;
  refusal jsonb;
  w wallets%rowtype;
  r provisioning_requests%rowtype;
  v_id uuid := gen_random_uuid();
  v_price bigint;
  k text;
begin
  if p_prices is null or jsonb_typeof(p_prices) <> 'object' or p_prices = '{}'::jsonb then
    raise exception 'provision_request_create: prices must be a non-empty object' using errcode = '22023';
  end if;
  for k in select jsonb_object_keys(p_prices) loop
    if k !~ '^[a-z]{3}$' or jsonb_typeof(p_prices->k) <> 'number' or (p_prices->>k)::numeric < 1
       or (p_prices->>k)::numeric <> trunc((p_prices->>k)::numeric) then
      raise exception 'provision_request_create: price % for % must be a positive integer', p_prices->k, k
        using errcode = '22023';
    end if;
  end loop;
  select * into w from wallets where org_id = p_org_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'provision', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  v_price := (p_prices->>w.currency)::bigint;
  if v_price is null then
    -- Never charge a price in another unit: refuse, recorded like any first outcome.
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
      jsonb_build_object('outcome', 'currency_not_priced', 'currency', w.currency,
        'priced_currencies', (select jsonb_agg(x order by x) from jsonb_object_keys(p_prices) x)));
  end if;
  refusal := wallet_purchase_refusal(w, v_price, now());
  if refusal is not null then
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint, refusal);
  end if;
  d := ledger_post(p_org_id, 'phone_number', -v_price, 'provision:' || p_idempotency_key,
                   'phone number ' || v_id, null, true);
  if d->>'outcome' = 'insufficient_funds' then
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
                              d - 'version');
  end if;
  if d->>'outcome' <> 'posted' or d->>'currency' <> w.currency then
    raise exception 'provision_request_create: unexpected ledger outcome %', d using errcode = 'XX000';
  end if;
  insert into provisioning_requests
    (id, org_id, idempotency_key, area_code, country, assistant_id, max_attempts, charged,
     debit_entry_id, currency)
  values
    (v_id, p_org_id, p_idempotency_key, p_area_code, p_country, p_assistant_id, p_max_attempts,
     v_price, (d->>'entry_id')::bigint, d->>'currency')
  returning * into r;
  return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
    jsonb_build_object('outcome', 'queued', 'request', provisioning_json(r),
      'balance', (d->>'balance')::bigint, 'version', (d->>'version')::bigint,
      'currency', d->>'currency', 'controls', d->'controls'));
end $function$;
