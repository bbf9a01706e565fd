-- provision_request_refund(uuid)
--
-- ---------------------------------------------------------------------------------------------
-- provision_request_refund: refunds a failed request's debit and marks it refunded, together.
-- Inputs:  request id.
-- Output:  {outcome: refunded (replayed) | not_refundable (status) | not_found, request,
--          balance, version, currency} — the wallet snapshot for the cache.
-- Effects: under the wallet lock, then the request lock: one phone_number_refund entry reversing
--          the debit (the unique reverses_entry_id makes a second one impossible, whatever path
--          asks), refund_entry_id, refunded = charged, status refunded. Only from failed.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261123000200_provisioning, 20261130001200_spend_controls (the last is current).
--
-- Called by: shared/provisioning/provisioning-store.ts.
CREATE OR REPLACE FUNCTION public.provision_request_refund(p_request_id uuid)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare r jsonb;
begin
  r := provision_request_refund_core(p_request_id);
  if r ? 'version' then
    r := r || jsonb_build_object('controls', (select wallet_controls_json(w) from wallets w
                                               where w.org_id = (r #>> '{request,org_id}')::uuid));
  end if;
  return r;
end $function$;
