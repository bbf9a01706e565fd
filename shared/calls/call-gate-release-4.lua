--[[
  call_gate_release: the call's charge is posted, so its hold stops counting; the entry is
  remembered until keep-until, so a repeated assistant-request for the call gets the same answer
  and no second hold.
    Input:
      KEYS[1] the wallet hash (unused; passed so every hold script takes the same keys)
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      ARGV[1] call id
      ARGV[2] now (ms)
      ARGV[3] keep-until (ms) for the released entry
    Output:
      1 when a counting entry was released, 0 otherwise
    Events/effects:
      removes expired entries; turns the call's entry into a released one (DECRBY S: it stops
      counting) that expires at keep-until (ZADD E), keeping H, E and S alive until then; leaves
      unknown calls alone.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
local now = tonumber(ARGV[2])
purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not counts(e) then return 0 end
redis.call('DECRBY', KEYS[4], n(e.amount))
e.state = 'r'
e.expires = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], fmt(e))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
extend(tonumber(ARGV[3]) - now)
return 1
