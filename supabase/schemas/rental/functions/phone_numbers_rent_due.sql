-- phone_numbers_rent_due(uuid,uuid,integer)
--
-- ---------------------------------------------------------------------------------------------
-- phone_numbers_rent_due: the rent sweep's work list, one page (workers/rent-worker.ts).
-- Inputs:  an organisation (null = every one; a credit's retry asks for its own), the last id of
--          the previous page (null for the first), the page size (1..1000).
-- Output:  {items: [{id, org_id, status}]} by id: rented numbers active or past due whose paid
--          month has ended on the billing clock, and numbers whose release is not finished.
-- Effects: none. Each item is then decided by phone_number_rent_charge under its locks, so a
--          number listed by two workers at once is still charged once.
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.phone_numbers_rent_due(p_org_id uuid, p_after uuid, p_limit integer)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare v_now timestamptz := billing_now();
begin
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'phone_numbers_rent_due: limit % out of range 1..1000', p_limit using errcode = '22023';
  end if;
  return jsonb_build_object('items', coalesce((select jsonb_agg(jsonb_build_object(
      'id', d.id, 'org_id', d.org_id, 'status', d.status) order by d.id)
    from (select n.id, n.org_id, n.status from phone_numbers n
           where ((n.status in ('active', 'past_due') and n.paid_until <= v_now) or n.status = 'releasing')
             and (p_org_id is null or n.org_id = p_org_id)
             and (p_after is null or n.id > p_after)
           order by n.id
           limit p_limit) d), '[]'::jsonb));
end $function$;
