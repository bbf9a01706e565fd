--[[
  The cached wallet and its spend controls as the hold scripts check them (CONTRACT §8; the hash
  fields written by shared/cache/wallet-cache-put-1.lua and call-gate-fill-4.lua), and the count
  of live calls that maxConcurrentCalls limits.
    Input:
      KEYS[1] the wallet hash (keys.wallet(orgId)): balance, frozen, spend_day, spend, lim_cc,
              lim_daily, lim_secs (-1 = no limit)
      KEYS[2] H, the holds hash (hold-keys.lua)
    Output:
      wallet(now)         {balance, frozen, spent, cc, daily, secs} at now (spent counts only when
                          spend_day is now's UTC day; callers pass the billing clock's now), or nil when the wallet or its controls are
                          not cached (the caller fills from Postgres: a miss)
      live_before(id, e)  the live calls (state h) admitted before entry e of call id (all of
                          them when e is nil). A scan of H: run only when maxConcurrentCalls is set.
    Events/effects:
      none (reads only)
]]
--- @include "hold-entry"
local function wallet(now)
  local w = redis.call('HMGET', KEYS[1], 'balance', 'frozen', 'spend_day', 'spend', 'lim_cc', 'lim_daily', 'lim_secs')
  if not w[1] or not w[3] or not w[7] then return nil end
  local spent = 0
  if tonumber(w[3]) == math.floor(now / 86400000) then spent = tonumber(w[4]) end
  return {balance = tonumber(w[1]), frozen = w[2] == '1', spent = spent,
          cc = tonumber(w[5]), daily = tonumber(w[6]), secs = tonumber(w[7])}
end
local function live_before(id, e)
  local entries = redis.call('HGETALL', KEYS[2])
  local count = 0
  for i = 1, #entries, 2 do
    local o = parse(entries[i + 1])
    if o and o.state == 'h' and (e == nil or o.admitted < e.admitted or (o.admitted == e.admitted and entries[i] < id)) then
      count = count + 1
    end
  end
  return count
end
