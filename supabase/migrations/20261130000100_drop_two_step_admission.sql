-- The two-step admission (probe, then hold) was replaced by call_gate_admit, one step under the
-- wallet row lock (20261123000400). Nothing calls call_gate_hold any more; a function nobody
-- calls is still a door into the holds table, so it goes.
drop function call_gate_hold(uuid, text, bigint, integer, integer, bigint, text, boolean);
