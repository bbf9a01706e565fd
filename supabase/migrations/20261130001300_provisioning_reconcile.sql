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

alter table provisioning_requests
  -- When the sweeper should look at this row next; now() for a new row, pushed back by
  -- provision_sweep_defer when the sweeper found nothing it could do (e.g. a live job).
  add column sweep_due_at timestamptz not null default now(),
  -- How many times the sweeper put the row off: the exponent of its backoff.
  add column sweep_deferrals integer not null default 0 check (sweep_deferrals >= 0);

-- The sweeper's keyset order; id breaks ties so a page boundary never skips or repeats a row.
create index provisioning_requests_sweep_order on provisioning_requests (sweep_due_at, id)
  where status in ('queued', 'provisioning', 'retrying', 'failed');

drop function provision_sweep_candidates(integer, integer);
drop function provision_request_create(uuid, bigint, text, text, text, text, text, integer);

-- ---------------------------------------------------------------------------------------------
-- provision_request_create: debit the price and record the request, in one transaction.
-- Inputs:  org, prices: {"<currency>": price in minor units > 0, ...} from config.pricing (the
--          wallet's currency picks one), the client's Idempotency-Key and request fingerprint,
--          area code, country, assistant id (nullable), max attempts.
-- Output:  {outcome: queued, request: {...}, balance, version, currency}
--          | {outcome: insufficient_funds, currency, balance, required, shortfall}
--          | {outcome: currency_not_priced, currency, priced_currencies: [...]}
--          | {outcome: not_found} | {outcome: idempotency_key_reused};
--          replayed = true when this is the first outcome of the same key returned again.
-- Effects: under the wallet lock: at most one phone_number debit and one queued request per key;
--          the first outcome (including a refusal) is recorded with it. Nothing else on refusal.
-- ---------------------------------------------------------------------------------------------
create function provision_request_create(
  p_org_id uuid, p_prices jsonb, p_idempotency_key text, p_fingerprint text, p_area_code text,
  p_country text, p_assistant_id text, p_max_attempts integer
) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  prior jsonb;
  d jsonb;
  r provisioning_requests%rowtype;
  v_id uuid := gen_random_uuid();
  v_currency text;
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
  if not lock_wallet(p_org_id) then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  prior := idempotency_lookup(p_org_id, 'provision', p_idempotency_key, p_fingerprint);
  if prior is not null then
    return prior;
  end if;
  select currency into v_currency from wallets where org_id = p_org_id;
  v_price := (p_prices->>v_currency)::bigint;
  if v_price is null then
    -- Never charge a price in another unit: refuse, recorded like any first outcome.
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
      jsonb_build_object('outcome', 'currency_not_priced', 'currency', v_currency,
        'priced_currencies', (select jsonb_agg(x order by x) from jsonb_object_keys(p_prices) x)));
  end if;
  d := ledger_post(p_org_id, 'phone_number', -v_price, 'provision:' || p_idempotency_key,
                   'phone number ' || v_id, null, true);
  if d->>'outcome' = 'insufficient_funds' then
    return idempotency_record(p_org_id, 'provision', p_idempotency_key, p_fingerprint,
                              d - 'version');
  end if;
  if d->>'outcome' <> 'posted' or d->>'currency' <> v_currency then
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
      'currency', d->>'currency'));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_request_note_import: records the Vapi phone-number id of the import just made, so
-- that a release deletes that id and never a Vapi number found by its E.164 (failure mode 30).
-- Inputs:  request id, Vapi phone-number id.  Output: {outcome: noted | final | not_found, request}.
-- Effects: only on requests in provisioning; idempotent.
-- ---------------------------------------------------------------------------------------------
create function provision_request_note_import(p_request_id uuid, p_vapi_phone_number_id text)
returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
declare r provisioning_requests%rowtype;
begin
  update provisioning_requests
     set vapi_phone_number_id = p_vapi_phone_number_id, vapi_import_attempted = true,
         updated_at = now()
   where id = p_request_id and status = 'provisioning'
  returning * into r;
  if found then
    return jsonb_build_object('outcome', 'noted', 'request', provisioning_json(r));
  end if;
  select * into r from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'final', 'request', provisioning_json(r));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_sweep_candidates: one page of the requests the sweeper should look at, at p_now.
-- Inputs:  now, page size (1..1000), age in seconds after which a non-final request counts as
--          stuck, the cursor: sweep_due_at and id of the last row of the previous page (both
--          null for the first page; the exact text this function returned).
-- Output:  {items: [{id, status, attempts, max_attempts, updated_at, sweep_due_at,
--          sweep_deferrals}], stuck: n} ordered by (sweep_due_at, id): requests in
--          queued/provisioning/retrying/failed (failed = refund not yet done) that are due.
--          A page shorter than the page size is the last one.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
create function provision_sweep_candidates(
  p_now timestamptz, p_limit integer, p_stuck_after_seconds integer,
  p_after_due_at timestamptz, p_after_id uuid
) returns jsonb
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if (p_after_due_at is null) <> (p_after_id is null) then
    raise exception 'provision_sweep_candidates: the cursor needs both sweep_due_at and id, or neither'
      using errcode = '22023';
  end if;
  return jsonb_build_object(
    'items', coalesce((select jsonb_agg(jsonb_build_object(
               'id', r.id, 'status', r.status, 'attempts', r.attempts,
               'max_attempts', r.max_attempts, 'updated_at', r.updated_at,
               'sweep_due_at', r.sweep_due_at, 'sweep_deferrals', r.sweep_deferrals)
               order by r.sweep_due_at, r.id)
          from (select * from provisioning_requests
                 where status in ('queued', 'provisioning', 'retrying', 'failed')
                   and sweep_due_at <= p_now
                   and (p_after_due_at is null or (sweep_due_at, id) > (p_after_due_at, p_after_id))
                 order by sweep_due_at, id
                 limit least(greatest(p_limit, 1), 1000)) r), '[]'::jsonb),
    'stuck', (select count(*) from provisioning_requests
               where status in ('queued', 'provisioning', 'retrying', 'failed')
                 and updated_at < p_now - make_interval(secs => p_stuck_after_seconds)));
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_sweep_defer: the sweeper found nothing to do for a request now (its job or refund
-- job is alive, or repairing it failed): provision_sweep_candidates leaves it out until p_until.
-- Inputs:  request id, when it may be looked at again (the backoff, computed in
--          workers/provisioning-sweeper.ts from sweep_deferrals).
-- Output:  {outcome: deferred | unchanged}   (unchanged: no such request, or already final).
-- Effects: sets sweep_due_at and counts the deferral; updated_at is left alone (it dates the
--          last transition, which the stuck gauge measures).
-- ---------------------------------------------------------------------------------------------
create function provision_sweep_defer(p_request_id uuid, p_until timestamptz) returns jsonb
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if p_until is null then
    raise exception 'provision_sweep_defer: p_until is required' using errcode = '22023';
  end if;
  update provisioning_requests set sweep_due_at = p_until, sweep_deferrals = sweep_deferrals + 1
   where id = p_request_id and status in ('queued', 'provisioning', 'retrying', 'failed');
  return jsonb_build_object('outcome', case when found then 'deferred' else 'unchanged' end);
end $$;

-- ---------------------------------------------------------------------------------------------
-- provision_reconcile_lookup: who owns the numbers named after requests (the reconciler).
-- Inputs:  request ids (at most 1000; the names found on Twilio and Vapi numbers).
-- Output:  {requests: [{id, status, twilio_sid, vapi_phone_number_id}]} for the ids that are
--          requests of this service; ids that are not are left out (numbers we did not buy).
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
create function provision_reconcile_lookup(p_request_ids uuid[]) returns jsonb
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
  if coalesce(cardinality(p_request_ids), 0) > 1000 then
    raise exception 'provision_reconcile_lookup: at most 1000 ids per call' using errcode = '22023';
  end if;
  return jsonb_build_object('requests', coalesce((select jsonb_agg(jsonb_build_object(
      'id', r.id, 'status', r.status, 'twilio_sid', r.twilio_sid,
      'vapi_phone_number_id', r.vapi_phone_number_id))
    from provisioning_requests r where r.id = any(p_request_ids)), '[]'::jsonb));
end $$;

-- ---------------------------------------------------------------------------------------------
-- Access (failure mode 20).
-- ---------------------------------------------------------------------------------------------
revoke execute on function
  provision_request_create(uuid, jsonb, text, text, text, text, text, integer),
  provision_request_note_import(uuid, text),
  provision_sweep_candidates(timestamptz, integer, integer, timestamptz, uuid),
  provision_sweep_defer(uuid, timestamptz),
  provision_reconcile_lookup(uuid[])
from public, anon, authenticated;
grant execute on function
  provision_request_create(uuid, jsonb, text, text, text, text, text, integer),
  provision_request_note_import(uuid, text),
  provision_sweep_candidates(timestamptz, integer, integer, timestamptz, uuid),
  provision_sweep_defer(uuid, timestamptz),
  provision_reconcile_lookup(uuid[])
to service_role;
