-- billing_clock_advance(bigint)
--
-- ---------------------------------------------------------------------------------------------
-- billing_clock_advance: moves the billing clock forward (POST /api/admin/clock, sandbox mode
-- only: the route answers 404 elsewhere and never calls this).
-- Inputs:  seconds, 1..31622400 (366 days) per move.
-- Output:  {outcome: advanced, now, offset_seconds}
--          | {outcome: limit_reached, now, offset_seconds, max_offset_seconds}: the clock would
--            run more than ten years ahead (billing_clock's CHECK); nothing moved.
-- Effects: adds the seconds to the one row (created at 0 on first use). Only forward: a period
--          already charged is never charged again, and nothing is ever un-charged. Concurrent
--          moves add up (the row lock orders them).
-- ---------------------------------------------------------------------------------------------
--
-- Defined in 20261206000200_number_rental.
--
-- Called by: shared/rental/rental-store.ts.
CREATE OR REPLACE FUNCTION public.billing_clock_advance(p_seconds bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
declare
  v_max constant bigint := 315576000;
  v_offset bigint;
begin
  if p_seconds is null or p_seconds < 1 or p_seconds > 31622400 then
    raise exception 'billing_clock_advance: seconds % out of range 1..31622400', p_seconds
      using errcode = '22023';
  end if;
  insert into billing_clock (id, offset_seconds) values (true, 0) on conflict (id) do nothing;
  update billing_clock set offset_seconds = offset_seconds + p_seconds, updated_at = now()
   where id and offset_seconds + p_seconds <= v_max
  returning offset_seconds into v_offset;
  if not found then
    v_offset := billing_offset_seconds();
    return jsonb_build_object('outcome', 'limit_reached', 'now', now() + make_interval(secs => v_offset),
                              'offset_seconds', v_offset, 'max_offset_seconds', v_max);
  end if;
  return jsonb_build_object('outcome', 'advanced', 'now', now() + make_interval(secs => v_offset),
                            'offset_seconds', v_offset);
end $function$;
