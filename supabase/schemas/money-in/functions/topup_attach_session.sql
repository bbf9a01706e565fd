-- topup_attach_session(uuid,text,text)
--
-- Defined in 20261130001100_money_in.
--
-- Called by: shared/money-in/money-in-store.ts.
CREATE OR REPLACE FUNCTION public.topup_attach_session(p_top_up_id uuid, p_session_id text, p_url text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare t top_ups%rowtype;
begin
  update top_ups set checkout_session_id = p_session_id, checkout_url = p_url, updated_at = now()
   where id = p_top_up_id and checkout_session_id is null
  returning * into t;
  if not found then
    select * into t from top_ups where id = p_top_up_id;
    if not found then
      return jsonb_build_object('outcome', 'not_found');
    end if;
  end if;
  return jsonb_build_object('outcome', 'found', 'top_up', top_up_json(t));
end $function$;
