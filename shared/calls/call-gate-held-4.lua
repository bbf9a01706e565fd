--[[
  call_gate_held: the organisation's held sum at now.
    Input:
      KEYS[1] the wallet hash (unused; passed so every hold script takes the same keys)
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      ARGV[1] now (ms)
    Output:
      the sum of the unexpired counting amounts (as a string)
    Events/effects:
      removes expired entries (as every hold script does); S rebuilt from H when missing.
]]
--- @include "includes/hold-keys"
return n(purge(tonumber(ARGV[1])))
