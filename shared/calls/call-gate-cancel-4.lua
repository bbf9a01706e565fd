--[[
  call_gate_cancel: takes back a hold placed for a call that was refused after all (the store
  answered after the gate had given up on it, failure mode 24).
    Input:
      KEYS[1] the wallet hash (unused; passed so every hold script takes the same keys)
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      ARGV[1] call id
      ARGV[2] now (ms)
    Output:
      1 when an unrenewed live hold was removed, 0 otherwise (a renewed or ended call is real)
    Events/effects:
      removes expired entries; removes the call's entry from H and E and its amount from S.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
purge(tonumber(ARGV[2]))
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not e or e.state ~= 'h' or e.slices ~= 1 then return 0 end
redis.call('DECRBY', KEYS[4], n(e.amount))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
