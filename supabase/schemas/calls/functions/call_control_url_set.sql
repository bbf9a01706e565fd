-- call_control_url_set(text,text)
--
-- ---------------------------------------------------------------------------------------------
-- call_control_url_set: remembers a call's control URL, whether or not the call's row exists yet.
-- Output: {outcome: stored}. The latest URL wins (Vapi may move a call between clusters).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261130000300_metered_holds, 20261130000700_call_controls (the last is current).
--
-- Called by: shared/calls/call-store.ts.
CREATE OR REPLACE FUNCTION public.call_control_url_set(p_call_id text, p_url text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
begin
  insert into call_controls (call_id, control_url) values (p_call_id, p_url)
  on conflict (call_id) do update set control_url = excluded.control_url, learned_at = now()
   where call_controls.control_url is distinct from excluded.control_url;
  return jsonb_build_object('outcome', 'stored');
end $function$;
