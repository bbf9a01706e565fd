--[[
  The due-set entry of a metered call's first renewal (shared/calls/meter-due.ts dueMember(): the
  whole slice-2 `renew` job, "1|org|2|admittedAtMs|maxDuration|expiresAtMs|cap|dueAtMs|callId"),
  written by call_gate_decide and taken back by call_gate_adopt when the entry it was written for
  takes other terms. One definition, so the two always name the same member.
    Input:
      first_renewal(org, id, e, r, lead)     an org id, a call id, an entry table (hold-entry.lua),
                                             the call's rate (call-rate.lua) and the renewal lead (ms)
      (no KEYS, no ARGV of its own)
    Output:
      held_seconds(e, r)                     the seconds the entry's amount pays for, at most maxd
      first_renewal(...)                     member, due (ms): the member scored at its due time
                                             admitted + held s − lead
    Events/effects:
      none
]]
--- @include "number-format"
--- @include "call-rate"
local function held_seconds(e, r)
  return math.min(e.maxd, paid(e.amount, r))
end
local function first_renewal(org, id, e, r, lead)
  local due = e.admitted + held_seconds(e, r) * 1000 - lead
  return '1|' .. org .. '|2|' .. n(e.admitted) .. '|' .. n(e.maxd) .. '|' .. n(e.expires) .. '|' ..
         n(e.cap) .. '|' .. n(due) .. '|' .. id, due
end
