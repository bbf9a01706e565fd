--[[
  The due-set entry of a metered call's first renewal (shared/calls/meter-due.ts dueMember(): the
  whole slice-2 `renew` job, "1|org|2|admittedAtMs|maxDuration|expiresAtMs|cap|dueAtMs|callId"),
  written by call_gate_decide and taken back by call_gate_adopt when the entry it was written for
  takes other terms. One definition, so the two always name the same member.
    Input:
      first_renewal(org, id, e, rate, lead)  an org id, a call id, an entry table (hold-entry.lua),
                                             the rate per minute and the renewal lead (ms)
      (no KEYS, no ARGV of its own)
    Output:
      held_seconds(e, rate)                  the seconds the entry's amount pays for, at most maxd
      first_renewal(...)                     member, due (ms): the member scored at its due time
                                             admitted + held s − lead
    Events/effects:
      none
]]
--- @include "number-format"
local function held_seconds(e, rate)
  return math.min(e.maxd, math.floor((e.amount * 60) / rate))
end
local function first_renewal(org, id, e, rate, lead)
  local due = e.admitted + held_seconds(e, rate) * 1000 - lead
  return '1|' .. org .. '|2|' .. n(e.admitted) .. '|' .. n(e.maxd) .. '|' .. n(e.expires) .. '|' ..
         n(e.cap) .. '|' .. n(due) .. '|' .. id, due
end
