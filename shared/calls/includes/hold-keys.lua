--[[
  Keeps an organisation's hold keys in step: the entries hash H, its expiry index E and the sum S
  of the counting amounts. Keeping S and E makes an admission cost O(log n + expired) rather than
  a scan of every call in progress; a lost or inconsistent S is rebuilt from H.
    Input:
      KEYS[2] H = keys.holds(orgId)             hash   call id → entry (hold-entry.lua)
      KEYS[3] E = keys.holds(orgId) + ':expiry' zset   call id → expiresAtMs
      KEYS[4] S = keys.holds(orgId) + ':sum'    string Σ amount of the entries that count (h, e)
      (KEYS[1], the wallet hash, is the including script's; these functions do not touch it)
    Output:
      extend(ms)                 H, E and S live at least ms longer
      sum_from_scratch()         S recomputed from H, returned
      purge(now)                 the expired entries removed; returns the held sum at now
      resize(id, e, new_amount)  the entry's amount moved to new_amount, S in step
    Events/effects:
      purge: HDEL/ZREM of entries expired at now, DECRBY S of those that counted; S written
      again (SET PX, no longer than H lives) when it was missing or negative. extend: PEXPIRE of
      H, E, S when they would expire sooner. resize: INCRBY S, HSET H.
]]
--- @include "hold-entry"
local function extend(ms)
  for i = 2, 4 do
    if redis.call('PTTL', KEYS[i]) < ms then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
local function sum_from_scratch()
  local entries = redis.call('HGETALL', KEYS[2])
  local held = 0
  for i = 2, #entries, 2 do
    local e = parse(entries[i])
    if counts(e) then held = held + e.amount end
  end
  -- Stored only beside an existing hash, and no longer than it lives (no key per idle org).
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('SET', KEYS[4], n(held), 'PX', ttl) end
  return held
end
local function purge(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, id in ipairs(expired) do
    local e = parse(redis.call('HGET', KEYS[2], id))
    if counts(e) then redis.call('DECRBY', KEYS[4], n(e.amount)) end
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
  end
  local held = tonumber(redis.call('GET', KEYS[4]) or '-1')
  -- Missing (expired or never written) or inconsistent: rebuild from the hash.
  if held < 0 then held = sum_from_scratch() end
  return held
end
-- Moves an entry's amount to new_amount, keeping S in step.
local function resize(id, e, new_amount)
  redis.call('INCRBY', KEYS[4], n(new_amount - e.amount))
  e.amount = new_amount
  redis.call('HSET', KEYS[2], id, fmt(e))
end
