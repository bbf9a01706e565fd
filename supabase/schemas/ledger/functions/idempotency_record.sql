-- idempotency_record(uuid,text,text,text,jsonb)
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: provision_request_create(), topup_create(), wallet_credit().
CREATE OR REPLACE FUNCTION public.idempotency_record(p_org_id uuid, p_scope text, p_key text, p_fingerprint text, p_outcome jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  insert into idempotency_keys (org_id, scope, key, fingerprint, outcome)
  values (p_org_id, p_scope, p_key, p_fingerprint, p_outcome);
  return p_outcome || jsonb_build_object('replayed', false);
end $function$;
