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
      ARGV[13..] per hold from Postgres, twelve each: call id, state (h|e), amount,
              max duration (s), expiry (ms), admitted (ms), cap, slices, and its rate: per
              minute, connect fee, minimum s, increment s ('' when its row has none)
    Output:
      {stored, adopted}: stored is 1 when the wallet was stored, 0 when not asked to or the cache
      held this version or newer (the same version is stored again when the cache lacks its
      controls); adopted counts the entries whose terms were replaced by Postgres's
    Events/effects:
      the wallet and its controls as in shared/cache/wallet-cache-put-1.lua (never replaced by
      an older version; PEXPIRE ttl); removes expired entries; each unexpired Postgres hold added
      (H, E, S, extended to its expiry) when Redis has no entry for that call. An entry Redis has
      is kept (its amount is newer knowledge: a renewal) unless it grants other terms — another
      maxDuration or cap than Postgres's row, what a call_gate_decide that landed after a
      Postgres-path answer leaves — then it takes Postgres's (includes/adopt-entry.lua): the
      terms Vapi was given. A released entry is kept.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
--- @include "includes/adopt-entry"
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
local adopted = 0
for i = 13, #ARGV, 12 do
  local t = {state = ARGV[i + 1], amount = tonumber(ARGV[i + 2]), maxd = tonumber(ARGV[i + 3]), expires = tonumber(ARGV[i + 4]),
             admitted = tonumber(ARGV[i + 5]), cap = tonumber(ARGV[i + 6]), slices = tonumber(ARGV[i + 7]),
             rate = hold_rate(ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11])}
  if adopt(ARGV[i], t, now, false) == 'adopted' then adopted = adopted + 1 end
end
return {stored, adopted}
