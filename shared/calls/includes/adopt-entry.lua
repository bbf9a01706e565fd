--[[
  adopt: makes a call's Redis entry hold the terms Postgres's `calls` row holds (issue 22, item 2).
  The terms of a call — its maxDuration, cap, expiry and admission time — are granted once, by the
  store that answered the gate; the other copy must hold the same. A Postgres-path answer given
  while Redis stalled can meet an entry the stalled call_gate_decide wrote afterwards, planned on
  Redis's own (possibly lower) balance: Vapi was told Postgres's maxDurationSeconds, and an entry
  capped below it stopped renewing (`capped`) and expired before the call could end.
    Input:
      adopt(id, t, now, exact)
                          a call id, Postgres's entry for it as a table (hold-entry.lua's fields),
                          now (ms), and whether the admission time and expiry must match too
                          (exact: right after the Postgres path answered) or only maxDuration and
                          cap (a fill: the same grant recorded a few ms apart is left alone);
                          KEYS[2..4] as hold-keys.lua
    Output:
      'added'     Redis had no entry: t is written (as call_gate_fill always did)
      hold_rate(pm, fee, min, inc)  a hold's rate from its four ARGV strings ('' = none)
      'adopted'   Redis had a counting entry with other terms: it now has t's terms (and rate) and t's amount
                  and slices (the larger slices and, for an ended entry, its own sized amount)
      'kept'      Redis's entry already has t's terms (its amount is newer knowledge: a renewal),
                  or it is released (the call is settled), or t has expired
      and, for 'adopted', the entry as it was before (a table), so the caller can take back what
      was written for it
    Events/effects:
      HSET H, ZADD E, INCRBY S (by the change in a counting amount), extend(); nothing for 'kept'.
]]
--- @include "hold-entry"
--- @include "hold-keys"
-- A hold's rate from four ARGV strings ('' or absent: none, the default rate applies).
local function hold_rate(pm, fee, min, inc)
  if not pm or pm == '' then return nil end
  return {rate = tonumber(pm), fee = tonumber(fee), min = tonumber(min), inc = tonumber(inc)}
end
local function adopt(id, t, now, exact)
  if t.expires <= now then return 'kept' end
  local e = parse(redis.call('HGET', KEYS[2], id))
  if not e then
    -- No entry (or a malformed one, which no script reads nor counts): Postgres's is written.
    redis.call('HSET', KEYS[2], id, fmt(t))
    redis.call('ZADD', KEYS[3], n(t.expires), id)
    if counts(t) then redis.call('INCRBY', KEYS[4], n(t.amount)) end
    extend(t.expires - now)
    return 'added'
  end
  if e.state == 'r' then return 'kept' end
  if e.maxd == t.maxd and e.cap == t.cap and (not exact or (e.expires == t.expires and e.admitted == t.admitted)) then
    return 'kept'
  end
  local was = {state = e.state, amount = e.amount, maxd = e.maxd, expires = e.expires,
               admitted = e.admitted, cap = e.cap, slices = e.slices}
  local amount = t.amount
  if e.state == 'e' then amount = e.amount
  elseif e.slices > t.slices then amount = math.min(math.max(e.amount, t.amount), t.cap) end
  e.maxd, e.cap, e.expires, e.admitted = t.maxd, t.cap, t.expires, t.admitted
  e.slices = math.max(e.slices, t.slices)
  e.rate = t.rate or e.rate
  resize(id, e, amount)
  redis.call('ZADD', KEYS[3], n(e.expires), id)
  extend(e.expires - now)
  return 'adopted', was
end
