--[[
  call_gate_fill: fills Redis from Postgres after a miss — the wallet (version-guarded) and the
  holds Redis does not know.
    Input:
      KEYS[1] the wallet hash (keys.wallet(orgId))
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      ARGV[1] store the wallet: '1' | '0'
      ARGV[2] version
      ARGV[3] balance
      ARGV[4] currency
      ARGV[5] wallet ttl (ms)
      ARGV[6] now (ms)
      ARGV[7..12] the six controls of wallet-controls.ts controlsArgs(): frozen, spend_day,
              spend, lim_cc, lim_daily, lim_secs (ignored unless storing)
      ARGV[13..] per hold from Postgres, eight each: call id, state (h|e), amount,
              max duration (s), expiry (ms), admitted (ms), cap, slices
    Output:
      1 when the wallet was stored, 0 when not asked to or the cache held this version or newer
      (the same version is stored again when the cache lacks its controls)
    Events/effects:
      the wallet and its controls as in shared/cache/wallet-cache-put-1.lua (never replaced by
      an older version; PEXPIRE ttl); removes expired entries; each unexpired Postgres hold added
      (H, E, S, extended to its expiry) unless Redis already has an entry for that call (Redis's
      own entry is newer knowledge).
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
local stored = 0
if ARGV[1] == '1' then
  local current = redis.call('HGET', KEYS[1], 'version')
  if not current or tonumber(current) < tonumber(ARGV[2])
     or (tonumber(current) == tonumber(ARGV[2]) and redis.call('HEXISTS', KEYS[1], 'spend_day') == 0) then
    redis.call('HSET', KEYS[1], 'version', ARGV[2], 'balance', ARGV[3], 'currency', ARGV[4],
               'frozen', ARGV[7], 'spend_day', ARGV[8], 'spend', ARGV[9], 'lim_cc', ARGV[10], 'lim_daily', ARGV[11], 'lim_secs', ARGV[12])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    stored = 1
  end
end
local now = tonumber(ARGV[6])
purge(now)
for i = 13, #ARGV, 8 do
  local e = {state = ARGV[i + 1], amount = tonumber(ARGV[i + 2]), maxd = tonumber(ARGV[i + 3]), expires = tonumber(ARGV[i + 4]),
             admitted = tonumber(ARGV[i + 5]), cap = tonumber(ARGV[i + 6]), slices = tonumber(ARGV[i + 7])}
  if e.expires > now and redis.call('HSETNX', KEYS[2], ARGV[i], fmt(e)) == 1 then
    redis.call('ZADD', KEYS[3], n(e.expires), ARGV[i])
    redis.call('INCRBY', KEYS[4], n(e.amount))
    extend(e.expires - now)
  end
end
return stored
