-- phone_numbers_list(uuid,integer,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_numbers_list: an organisation's rented numbers (GET /api/numbers), newest first.
-- Inputs:  org id, NUMBER_GRACE_DAYS in seconds, how many at most (1..1000).
-- Output:  {outcome: found, currency, items: [phone_number_json]} | {outcome: not_found} (no wallet).
--          Registered numbers are not listed: they were not bought here and pay no rent.
-- Effects: none.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_numbers_list(p_org_id uuid, p_grace_seconds integer, p_limit integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_currency text;
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'phone_numbers_list: limit % out of range 1..1000', p_limit using errcode = '22023';
  end if;
  select currency into v_currency from wallets where org_id = p_org_id;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  return jsonb_build_object('outcome', 'found', 'currency', v_currency, 'items', coalesce((
    select jsonb_agg(phone_number_json(x, p_grace_seconds) order by x.created_at desc, x.id)
      from (select * from phone_numbers n
             where n.org_id = p_org_id and n.rent_anchor is not null
             order by n.created_at desc, n.id
             limit p_limit) x), '[]'::jsonb));
end $function$;
