-- provision_request_refund_core(uuid)
--
-- The refund of a failed purchase, exactly once — the body that was provision_request_refund
-- until 20261130001200_spend_controls renamed it: provision_request_refund wraps it and adds the
-- wallet's `controls` to its answer (read in the same transaction, so the same version).
-- Internal: executable only by its owner.
--
-- Defined in 20261123000200_provisioning as provision_request_refund; renamed in
-- 20261130001200_spend_controls.
--
-- Called by: provision_request_refund().
CREATE OR REPLACE FUNCTION public.provision_request_refund_core(p_request_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_org uuid;
  r provisioning_requests%rowtype;
  x jsonb;
  w wallets%rowtype;
begin
  select org_id into v_org from provisioning_requests where id = p_request_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  -- Lock order everywhere: wallet, then request.
  perform lock_wallet(v_org);
  select * into r from provisioning_requests where id = p_request_id for update;
  if r.status = 'refunded' then
    select * into w from wallets where org_id = v_org;
    return jsonb_build_object('outcome', 'refunded', 'replayed', true, 'request', provisioning_json(r),
      'balance', w.balance, 'version', w.version, 'currency', w.currency);
  end if;
  if r.status <> 'failed' then
    return jsonb_build_object('outcome', 'not_refundable', 'request', provisioning_json(r));
  end if;
  x := ledger_post(v_org, 'phone_number_refund', r.charged, 'refund:' || r.debit_entry_id,
                   'refund of phone number ' || r.id, r.debit_entry_id, false);
  if x->>'outcome' not in ('posted', 'replayed') then
    raise exception 'provision_request_refund: unexpected ledger outcome %', x using errcode = 'XX000';
  end if;
  update provisioning_requests
     set status = 'refunded', refund_entry_id = (x->>'entry_id')::bigint, refunded = charged,
         updated_at = now()
   where id = p_request_id
  returning * into r;
  return jsonb_build_object('outcome', 'refunded', 'replayed', x->>'outcome' = 'replayed',
    'request', provisioning_json(r), 'balance', (x->>'balance')::bigint,
    'version', (x->>'version')::bigint, 'currency', x->>'currency');
end $function$;
