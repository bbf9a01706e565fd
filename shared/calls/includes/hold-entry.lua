--[[
  The hold entry format of shared/calls/redis-holds.ts, read and written: one field of the holds
  hash H per call, "<state>|<amount>|<maxDuration s>|<expiresAtMs>|<admittedAtMs>|<cap>|<slices>",
  state h (held), e (ended) or r (released).
    Input:
      an entry's string, or an entry table (no KEYS, no ARGV of its own)
    Output:
      parse(v)       the entry as a table {state, amount, maxd, expires, admitted, cap, slices},
                     or nil for a missing or malformed value
      fmt(e)         the string of an entry table (numbers through n())
      counts(e)      whether the entry counts in S (states h and e)
      state_name(e)  'held' | 'ended' | 'released'
    Events/effects:
      none
]]
--- @include "number-format"
local function parse(v)
  if not v then return nil end
  local s, a, m, x, t, c, k = string.match(v, '^([her])|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)$')
  if not s then return nil end
  return {state = s, amount = tonumber(a), maxd = tonumber(m), expires = tonumber(x),
          admitted = tonumber(t), cap = tonumber(c), slices = tonumber(k)}
end
local function fmt(e)
  return e.state .. '|' .. n(e.amount) .. '|' .. n(e.maxd) .. '|' .. n(e.expires) .. '|' ..
         n(e.admitted) .. '|' .. n(e.cap) .. '|' .. n(e.slices)
end
local function counts(e) return e and (e.state == 'h' or e.state == 'e') end
local function state_name(e)
  if e.state == 'h' then return 'held' elseif e.state == 'e' then return 'ended' end
  return 'released'
end
