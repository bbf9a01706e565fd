--[[
  wallet_cache_put: stores a wallet snapshot in the cache unless a newer one is cached (two
  writers can finish in either order; the version guard keeps the newer).
    Input:
      KEYS[1] the wallet hash (keys.wallet(orgId))
      ARGV[1] version
      ARGV[2] balance
      ARGV[3] currency
      ARGV[4] ttl (ms)
      ARGV[5..10] optionally the controls (wallet-controls.ts controlsArgs()): frozen, spend_day,
              spend, lim_cc, lim_daily, lim_secs
    Output:
      1 when stored, 0 when the cache already holds this version or a newer one (the same version
      is stored again only to add controls it lacks)
    Events/effects:
      replaces balance/version/currency and the controls (or removes the controls when none are
      given: the gate then misses and fills) and resets the TTL (PEXPIRE); leaves the rest.
]]
local current = redis.call('HGET', KEYS[1], 'version')
if current then
  local c, v = tonumber(current), tonumber(ARGV[1])
  if c > v then return 0 end
  if c == v and (#ARGV < 10 or redis.call('HEXISTS', KEYS[1], 'spend_day') == 1) then return 0 end
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'balance', ARGV[2], 'currency', ARGV[3])
if #ARGV >= 10 then
  redis.call('HSET', KEYS[1], 'frozen', ARGV[5], 'spend_day', ARGV[6], 'spend', ARGV[7], 'lim_cc', ARGV[8], 'lim_daily', ARGV[9], 'lim_secs', ARGV[10])
else
  redis.call('HDEL', KEYS[1], 'frozen', 'spend_day', 'spend', 'lim_cc', 'lim_daily', 'lim_secs')
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
