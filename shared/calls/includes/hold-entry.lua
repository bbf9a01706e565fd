--[[
  The hold entry format of shared/calls/redis-holds.ts, read and written: one field of the holds
  hash H per call, "<state>|<amount>|<maxDuration s>|<expiresAtMs>|<admittedAtMs>|<cap>|<slices>",
  state h (held), e (ended) or r (released); since rates by destination (CONTRACT §10) followed by
  "|<rate per minute>|<connect fee>|<minimum s>|<increment s>", the rate fixed at the call's
  admission. An entry written before rates were kept has none (e.rate nil): the scripts then use
  the default rate (includes/call-rate.lua).
    Input:
      an entry's string, or an entry table (no KEYS, no ARGV of its own)
    Output:
      parse(v)       the entry as a table {state, amount, maxd, expires, admitted, cap, slices,
                     rate = {rate, fee, min, inc} or nil}, or nil for a missing or malformed value
      fmt(e)         the string of an entry table (numbers through n())
      counts(e)      whether the entry counts in S (states h and e)
      state_name(e)  'held' | 'ended' | 'released'
    Events/effects:
      none
]]
--- @include "number-format"
local function parse(v)
  if not v then return nil end
  local s, a, m, x, t, c, k, rest = string.match(v, '^([her])|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)(.*)$')
  if not s then return nil end
  local rate
  if rest ~= '' then
    local pm, fee, min, inc = string.match(rest, '^|(%d+)|(%d+)|(%d+)|(%d+)$')
    if not pm or tonumber(pm) < 1 or tonumber(inc) < 1 then return nil end
    rate = {rate = tonumber(pm), fee = tonumber(fee), min = tonumber(min), inc = tonumber(inc)}
  end
  return {state = s, amount = tonumber(a), maxd = tonumber(m), expires = tonumber(x),
          admitted = tonumber(t), cap = tonumber(c), slices = tonumber(k), rate = rate}
end
local function fmt(e)
  local v = e.state .. '|' .. n(e.amount) .. '|' .. n(e.maxd) .. '|' .. n(e.expires) .. '|' ..
            n(e.admitted) .. '|' .. n(e.cap) .. '|' .. n(e.slices)
  if e.rate then
    v = v .. '|' .. n(e.rate.rate) .. '|' .. n(e.rate.fee) .. '|' .. n(e.rate.min) .. '|' .. n(e.rate.inc)
  end
  return v
end
local function counts(e) return e and (e.state == 'h' or e.state == 'e') end
local function state_name(e)
  if e.state == 'h' then return 'held' elseif e.state == 'e' then return 'ended' end
  return 'released'
end
