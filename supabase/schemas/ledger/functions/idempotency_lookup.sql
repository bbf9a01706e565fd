-- idempotency_lookup(uuid,text,text,text)
--
-- ---------------------------------------------------------------------------------------------
-- idempotency_lookup / idempotency_record: the HTTP-level first-response store.
-- Call lookup only while holding the wallet row lock (every public function below does), so two
-- requests with one key are serialised and the second sees the first's record.
-- lookup returns null (new key), {outcome: idempotency_key_reused} (other fingerprint), or the
-- recorded outcome with replayed = true.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000100_wallet_ledger.
--
-- Called by: provision_request_create(), topup_create(), wallet_credit().
CREATE OR REPLACE FUNCTION public.idempotency_lookup(p_org_id uuid, p_scope text, p_key text, p_fingerprint text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r idempotency_keys%rowtype;
begin
  select * into r from idempotency_keys
   where org_id = p_org_id and scope = p_scope and key = p_key;
  if not found then
    return null;
  end if;
  if r.fingerprint <> p_fingerprint then
    return jsonb_build_object('outcome', 'idempotency_key_reused');
  end if;
  return r.outcome || jsonb_build_object('replayed', true);
end $function$;
