--[[
  call_gate_end: the call's status-update "ended" — its hold becomes the cost of the time used.
    Input:
      KEYS[1] the wallet hash (unused; passed so every hold script takes the same keys)
      KEYS[2] H, the holds hash (keys.holds(orgId))
      KEYS[3] E, the expiry index (H + ':expiry')
      KEYS[4] S, the held sum (H + ':sum')
      ARGV[1] call id
      ARGV[2] now (ms)
      ARGV[3] rate per minute of a call whose entry has no rate of its own (the entry's otherwise)
      ARGV[4] hold grace (s)
    Output:
      {'ended', amount, admittedAtMs, maxDuration, expiresAtMs, cap, slices, rate, fee, min, inc}
                                                      sized now (the rate: the entry's, '' if none)
      {'already', ...same fields}                     an earlier "ended" sized it
      {'released'}                                    the charge is already posted
      {'missing'}                                     Redis does not know the call
    Events/effects:
      removes expired entries; amount := the cost of the elapsed ms at the call's rate
      (includes/call-rate.lua cost_ms: ceil(elapsed ms × rate ÷ 60000) at the default rate), elapsed from admission
      bounded by (maxDuration + grace), at least 1 (it counts until the charge replaces it); may
      grow a hold the call overran (HSET H, INCRBY S). State h → e: no more renewals.
]]
--- @include "includes/hold-entry"
--- @include "includes/hold-keys"
--- @include "includes/call-rate"
local now = tonumber(ARGV[2])
purge(now)
local e = parse(redis.call('HGET', KEYS[2], ARGV[1]))
if not e then return {'missing'} end
if e.state == 'r' then return {'released'} end
local outcome = 'already'
if e.state == 'h' then
  local elapsed = math.min(math.max(0, now - e.admitted), (e.maxd + tonumber(ARGV[4])) * 1000)
  e.state = 'e'
  resize(ARGV[1], e, math.max(1, cost_ms(elapsed, rate_of(e, default_rate(tonumber(ARGV[3]))))))
  outcome = 'ended'
end
local r = e.rate or {}
local function opt(x) if x then return n(x) end return '' end
return {outcome, n(e.amount), n(e.admitted), n(e.maxd), n(e.expires), n(e.cap), n(e.slices),
        opt(r.rate), opt(r.fee), opt(r.min), opt(r.inc)}
