--[[
  call_gate_adopt: after the gate answered a call from Postgres (Redis erred or was slower than
  CALL_GATE_REDIS_TIMEOUT_MS), the call's Redis entry takes exactly the terms Postgres granted —
  the terms Vapi was given (issue 22, item 2). Sent on the connection the stalled call_gate_decide
  went out on, after it, so Redis runs it after any entry that decide writes late.
    Input:
      KEYS[1] the wallet hash (unused; passed so every hold script takes the same keys)
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      KEYS[5] D = keys.meterDue(orgId), the due set of first renewals in the organisation's slot
              (as call_gate_decide's)
      ARGV[1] call id
      ARGV[2] now (ms)
      ARGV[3..9] Postgres's hold: state (h|e), amount, max duration (s), expiry (ms),
              admitted (ms), cap, slices
      ARGV[10] rate per minute of an entry with no rate of its own
      ARGV[11] renewal lead (ms)
      ARGV[12] org id
      ARGV[13..16] Postgres's hold's rate: per minute, connect fee, minimum s, increment s
              ('' when its row has none: the default rate)
    Output:
      {'added'}    Redis had no entry for the call: Postgres's is written
      {'adopted'}  Redis had an entry with other terms (a late call_gate_decide): replaced
      {'kept'}     Redis's entry has these terms already, or is released, or the hold expired
    Events/effects:
      removes expired entries; the entry written or its terms replaced, S, E and the keys' TTLs in
      step (includes/adopt-entry.lua). When replaced, the first renewal the late decide put in D
      for its own terms is removed (the Postgres path schedules the call's meter on the granted
      terms): a renewal job on the decide's terms would stop at its maxDuration.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
--- @include "includes/adopt-entry"
--- @include "includes/meter-due-entry"
--- @include "includes/call-rate"
local now = tonumber(ARGV[2])
purge(now)
local t = {state = ARGV[3], amount = tonumber(ARGV[4]), maxd = tonumber(ARGV[5]), expires = tonumber(ARGV[6]),
           admitted = tonumber(ARGV[7]), cap = tonumber(ARGV[8]), slices = tonumber(ARGV[9]),
           rate = hold_rate(ARGV[13], ARGV[14], ARGV[15], ARGV[16])}
local outcome, was = adopt(ARGV[1], t, now, true)
if outcome == 'adopted' and was.slices == 1 and was.state == 'h' then
  local r = rate_of(was, default_rate(tonumber(ARGV[10])))
  redis.call('ZREM', KEYS[5], (first_renewal(ARGV[12], ARGV[1], was, r, tonumber(ARGV[11]))))
end
return {outcome}
